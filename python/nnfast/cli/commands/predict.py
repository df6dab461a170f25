"""``nnfast predict MODEL DATA``: a saved model's predictions (and probabilities) as CSV."""
from __future__ import annotations

import csv
import os
import sys

import numpy as np

from ..errors import CLIError
from ..readers import read_table

__all__ = ["run"]


def _load_model(path):
    import nnfast

    if not os.path.exists(path):
        raise CLIError(f"no such model file: {path}")
    try:
        return nnfast.load(path)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CLIError(f"cannot load model {path}: {msg}") from None


def run(args, out):
    """Write the predictions for ``args.data`` as CSV to `out` or ``args.out``; return 0."""
    model = _load_model(args.model)
    n_features = int(model.n_features_in_)
    X, _, _, _ = read_table(args.data, args.target, need_target=False, n_features=n_features)
    if X.shape[1] != n_features:
        raise CLIError(f"{args.data} has {X.shape[1]} feature columns, the model expects "
                       f"{n_features}")
    is_classifier = hasattr(model, "classes_")
    if args.proba and not is_classifier:
        raise CLIError("--proba needs a classifier model; this one is a regressor")
    pred = model.predict(X)
    header = ["prediction"]
    columns = [pred]
    if args.proba:
        proba = model.predict_proba(X)
        header += [f"proba_{c}" for c in model.classes_]
        columns += [proba[:, j] for j in range(proba.shape[1])]
    handle = None
    try:
        if args.out:
            try:
                handle = open(args.out, "w", newline="", encoding="utf-8")
            except OSError as exc:
                raise CLIError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        writer = csv.writer(handle or out, lineterminator="\n")
        writer.writerow(header)
        for i in range(X.shape[0]):
            writer.writerow([repr(float(c[i])) if isinstance(c[i], (float, np.floating))
                             else c[i] for c in columns])
    finally:
        if handle is not None:
            handle.close()
    if args.out:
        print(f"{X.shape[0]} predictions written to {args.out}", file=sys.stderr)
    return 0

