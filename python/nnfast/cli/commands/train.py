"""``nnfast train DATA``: fit an MLPClassifier / MLPRegressor on a file, report held-out
metrics, save the model (``nnfast.load`` reads it back)."""
from __future__ import annotations

import os
import warnings

import numpy as np

from ..errors import CLIError
from ..readers import read_table

__all__ = ["run", "infer_task"]


def infer_task(y):
    """'classify' for a non-numeric target or one with few (<= 20) distinct integer
    values, else 'regress'."""
    y = np.asarray(y)
    if y.dtype.kind in "OUSb":
        return "classify"
    if y.dtype.kind in "iu" and np.unique(y).size <= 20:
        return "classify"
    return "regress"


def _default_model_path(data):
    """DATA's file name with the extension .nnfast, in the current folder."""
    stem = os.path.splitext(os.path.basename(data))[0] or "model"
    return f"{stem}.nnfast"


def run(args, out):
    """Train on ``args.data`` with the options of ``nnfast train``; return 0."""
    X, y, names, target = read_table(args.data, args.target, need_target=True)
    task = args.task or infer_task(y)
    if task == "regress":
        if y.dtype == object:
            raise CLIError(f"target column {target!r} is not numeric: it cannot be "
                           f"regressed (use --task classify)")
        y = y.astype(np.float64)
    # scikit-learn only now, after the file has been read: a bad file fails fast, and
    # importing this module (the tests do) stays cheap.
    from sklearn.exceptions import ConvergenceWarning

    from nnfast import MLPClassifier, MLPRegressor

    if task == "classify" and np.unique(y).size < 2:
        raise CLIError(f"target column {target!r} holds a single class; need at least 2")
    X_test = y_test = None
    if args.test_size > 0:
        from sklearn.model_selection import train_test_split

        stratify = None
        if task == "classify":
            counts = np.unique(y, return_counts=True)[1]
            stratify = y if counts.min() >= 2 else None
        n_test = int(np.ceil(args.test_size * X.shape[0]))
        if n_test < 1 or X.shape[0] - n_test < 1:
            raise CLIError(f"{X.shape[0]} rows are too few for --test-size {args.test_size:g}")
        try:
            X, X_test, y, y_test = train_test_split(X, y, test_size=args.test_size,
                                                    random_state=args.seed, stratify=stratify)
        except ValueError:  # a class too small to stratify on: split plainly instead
            X, X_test, y, y_test = train_test_split(X, y, test_size=args.test_size,
                                                    random_state=args.seed)
    epochs = args.epochs
    width = len(str(epochs))

    def progress(est, info):
        line = f"  epoch {info['epoch']:>{width}}/{epochs}  loss {info['loss']:.6f}"
        if info.get("validation_score") is not None:
            line += f"  validation score {info['validation_score']:.4f}"
        print(line, file=out, flush=True)
        return False

    cls = MLPClassifier if task == "classify" else MLPRegressor
    params = dict(hidden_layer_sizes=args.hidden, activation=args.activation,
                  solver=args.solver, alpha=args.alpha, max_iter=epochs,
                  random_state=args.seed, early_stopping=args.early_stopping,
                  n_jobs=args.threads, callbacks=[progress])
    if args.batch_size is not None:
        params["batch_size"] = args.batch_size
    if args.lr is not None:
        params["learning_rate_init"] = args.lr
    model = cls(**params)
    sizes = "-".join(str(n) for n in (X.shape[1], *args.hidden,
                                      "k" if task == "classify" else 1))
    print(f"nnfast train: {task} {target!r} from {len(names)} features; "
          f"{X.shape[0]} training rows"
          + (f", {X_test.shape[0]} held out" if X_test is not None else "")
          + f"; network {sizes}, {args.activation}, solver {args.solver}", file=out)
    if args.solver == "lbfgs":
        print("  (L-BFGS: no per-epoch progress; up to "
              f"{epochs} iterations)", file=out, flush=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            model.fit(X, y)
        except ValueError as exc:
            raise CLIError(f"training failed: {exc}") from None
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        print(f"  note: not converged after {model.n_iter_} epochs "
              f"(more --epochs or another --lr may help)", file=out)
    model.callbacks = None
    if X_test is not None:
        print(f"held-out metrics ({X_test.shape[0]} rows):", file=out)
        pred = model.predict(X_test)
        if task == "classify":
            from sklearn.metrics import classification_report

            print(f"  accuracy {np.mean(pred == y_test):.4f}", file=out)
            print(classification_report(y_test, pred, zero_division=0), file=out)
        else:
            from sklearn.metrics import r2_score

            rmse = float(np.sqrt(np.mean((pred - y_test) ** 2)))
            print(f"  R^2  {r2_score(y_test, pred):.4f}", file=out)
            print(f"  RMSE {rmse:.6g}", file=out)
    path = args.out or _default_model_path(args.data)
    try:
        model.save(path)
    except OSError as exc:
        raise CLIError(f"cannot write the model to {path}: {exc.strerror or exc}") from None
    print(f"model saved to {os.path.abspath(path)}", file=out)
    return 0

