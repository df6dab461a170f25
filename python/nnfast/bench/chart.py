"""The grouped-bar chart of the training speed-ups (matplotlib, optional)."""
from __future__ import annotations

import os
from typing import Any

from .report import fmt_ratio
from .targets import load_targets


def have_matplotlib() -> bool:
    """True when matplotlib imports (the chart is skipped without it)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def chart(results: list[dict[str, Any]], peers: list[str], path: str | os.PathLike[str]) -> None:
    """Write a PNG to `path`: per dtype (rows) and thread count (columns), each peer's time
    over nnfast's per workload on a log scale, with the speed targets as black ticks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    goals = load_targets()["training"]["ratio"]
    others = [p for p in peers if p != "nnfast"]
    dtypes = sorted({r["dtype"] for r in results}, key=["float32", "float64"].index)
    threads = sorted({r["threads"] for r in results})
    fig, axes = plt.subplots(len(dtypes), len(threads), squeeze=False,
                             figsize=(5.5 * len(threads), 3.8 * len(dtypes)))
    colors = {"reference": "tab:blue", "sklearn": "tab:orange", "torch": "tab:red"}
    for i, dt in enumerate(dtypes):
        for j, th in enumerate(threads):
            ax = axes[i][j]
            sel = [r for r in results if r["dtype"] == dt and r["threads"] == th]
            width = 0.8 / max(1, len(others))
            for k, peer in enumerate(others):
                xs = [n + (k - (len(others) - 1) / 2) * width for n in range(len(sel))]
                ys = [r["ratios"].get(peer, float("nan")) for r in sel]
                bars = ax.bar(xs, ys, width, label=peer, color=colors.get(peer))
                ax.bar_label(bars, labels=[fmt_ratio(y) if y == y else "" for y in ys],
                             fontsize=6, padding=1)
                for x, r in zip(xs, sel):
                    goal = goals.get(peer, {}).get(r["workload"])
                    if goal:
                        ax.hlines(goal, x - width / 2, x + width / 2, colors="black",
                                  linewidth=1.5)
            ax.axhline(1.0, color="gray", linewidth=0.8, linestyle="--")
            ax.set_yscale("log")
            ax.set_xticks(range(len(sel)))
            ax.set_xticklabels([r["workload"] for r in sel], fontsize=8)
            ax.set_title(f"{dt}, {th} thread{'s' if th > 1 else ''}", fontsize=10)
            ax.set_ylabel("peer time / nnfast time")
            if i == 0 and j == 0:
                ax.legend(fontsize=8, title="speed-up over", title_fontsize=8)
    fig.suptitle("nnfast training speed-up over each peer (black ticks: speed targets; "
                 "above 1 = nnfast faster)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
