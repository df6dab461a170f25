"""Figures for the lecture and the demo: decision boundaries, loss curves, a confusion matrix.

matplotlib is an optional extra (``pip install 'nnfast[plot]'``) and is imported inside
the functions. They draw on an off-screen Agg canvas (``matplotlib.figure.Figure``, never
pyplot), so they work without a display and leave pyplot's global backend alone.
Each ``save_*`` function writes one PNG and returns its path.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from .._typing import ArrayLike

__all__ = ["have_matplotlib", "decision_grid", "save_decision_boundaries", "save_loss_curve",
           "save_confusion_matrix", "confusion_matrix"]

INSTALL_HINT = "pip install 'nnfast[plot]'  (or: pip install matplotlib)"


def have_matplotlib() -> bool:
    """True when matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"drawing figures needs matplotlib: {INSTALL_HINT}") from exc
    # constrained layout: side-by-side panels keep their axis labels clear of each other
    fig = Figure(figsize=(width, height), dpi=100, constrained_layout=True)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike[str]) -> str:
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    fig.savefig(path, format="png", bbox_inches="tight")
    return path


def decision_grid(predict: Callable[[npt.NDArray[np.float64]], ArrayLike], lo: float = -0.5,
                  hi: float = 1.5, n: int = 200,
                  ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Evaluate ``predict`` (an (n·n, 2) array → (n·n,) values) on an n × n grid over
    [lo, hi]²; return (xx, yy, values) each of shape (n, n)."""
    xs = np.linspace(lo, hi, n)
    xx, yy = np.meshgrid(xs, xs)
    values = np.asarray(predict(np.column_stack([xx.ravel(), yy.ravel()])), dtype=float)
    return xx, yy, values.reshape(xx.shape)


def save_decision_boundaries(path: str | os.PathLike[str],
                             panels: Sequence[tuple[str, Callable[[Any], ArrayLike]]],
                             X: ArrayLike, y: ArrayLike) -> str:
    """Side-by-side decision regions of 2-D classifiers on the same points.

    Parameters
    ----------
    path : str or path-like
        The image file to write.
    panels : list of (title, predict)
        predict maps an (n, 2) array to P(y = 1) (or to 0/1 labels); the 0.5 contour is
        drawn as the boundary.
    X : array-like of shape (m, 2)
        The points, drawn on top.
    y : array-like of shape (m,)
        Their 0/1 labels.
    """
    fig = _figure(4.2 * len(panels), 4)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    for k, (title, predict) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        xx, yy, p = decision_grid(predict)
        ax.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6,
                    vmin=0, vmax=1)
        if p.min() < 0.5 < p.max():
            ax.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=1.5)
        for label, marker, color in ((0, "o", "tab:blue"), (1, "s", "tab:red")):
            sel = y == label
            ax.scatter(X[sel, 0], X[sel, 1], marker=marker, c=color, edgecolors="k", s=90,
                       label=f"y = {label}", zorder=3)
        # scikit-learn's rule: class 1 where P(y = 1) > 0.5 (labels 0/1 pass unchanged)
        acc = float(np.mean((np.asarray(predict(X), dtype=float) > 0.5) == (y == 1)))
        ax.set_title(f"{title}\naccuracy {100 * acc:.0f} %", fontsize=10)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_aspect("equal")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=8, ncol=2)
    return _save(fig, path)


def save_loss_curve(path: str | os.PathLike[str], curves: Mapping[str, ArrayLike],
                    title: str = "training loss per epoch") -> str:
    """Loss against epoch. curves : dict label → sequence of losses (one per epoch)."""
    fig = _figure(6, 4)
    ax = fig.add_subplot(1, 1, 1)
    styles: list[dict[str, Any]] = [dict(lw=4, alpha=0.45), dict(lw=1.5, ls="--"), dict(lw=1.5, ls=":")]
    for k, (label, curve) in enumerate(curves.items()):
        curve = np.asarray(curve, dtype=float)
        ax.plot(np.arange(1, curve.size + 1), curve, marker=".", label=label,
                **styles[k % len(styles)])
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean cross-entropy loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None,
                     ) -> npt.NDArray[np.int64]:
    """C[i, j] = number of examples of class i predicted as class j (integer labels)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    k = int(max(y_true.max(), y_pred.max()) + 1) if n_classes is None else int(n_classes)
    C = np.zeros((k, k), dtype=np.int64)
    np.add.at(C, (y_true, y_pred), 1)
    return C


def save_confusion_matrix(path: str | os.PathLike[str], y_true: ArrayLike, y_pred: ArrayLike,
                          n_classes: int | None = None, title: str = "confusion matrix") -> str:
    """A confusion matrix of integer labels 0..k-1 with the counts written in the cells."""
    C = confusion_matrix(y_true, y_pred, n_classes)
    k = C.shape[0]
    fig = _figure(5.5, 5)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(C, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    for i in range(k):
        for j in range(k):
            if C[i, j]:
                ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if C[i, j] > C.max() / 2 else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(C) / max(C.sum(), 1)
    ax.set_title(f"{title} (accuracy {100 * acc:.1f} %)")
    return _save(fig, path)
