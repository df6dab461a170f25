"""``nnfast predict MODEL DATA``: a saved model's predictions (and probabilities) as CSV, or
as Parquet for an output named .parquet / .pq."""
from __future__ import annotations

import argparse
import os
import stat
import sys
from typing import Any, TextIO

from ..errors import CLIError
from ..outputs import check_table_format, check_writable, refuse_input_as_output, write_csv, write_table
from ..readers import read_table

__all__ = ["run"]


def _load_model(path: str) -> Any:
    import nnfast

    if not os.path.exists(path):
        raise CLIError(f"no such model file: {path}")
    # A FIFO or a device would block or never end: a model is a regular file.
    if not os.path.isdir(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise CLIError(f"model {path} is not a regular file (a device, FIFO or socket)")
    try:
        return nnfast.load(path)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CLIError(f"cannot load model {path}: {msg}") from None


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Write the predictions for ``args.data`` as CSV to `out`, or to ``args.out`` (CSV, or
    Parquet by its extension); return 0."""
    if args.out:
        refuse_input_as_output(args.out, {"MODEL": args.model, "DATA": args.data})
        check_writable(args.out)
        check_table_format(args.out)
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
    if pred.ndim == 2:  # multi-output regression or multi-label: one column per output
        header = [f"prediction_{j}" for j in range(pred.shape[1])]
        columns = [pred[:, j] for j in range(pred.shape[1])]
    else:
        header, columns = ["prediction"], [pred]
    if args.proba:
        proba = model.predict_proba(X)
        header += [f"proba_{c}" for c in model.classes_]
        columns += [proba[:, j] for j in range(proba.shape[1])]
    if args.out:
        write_table(args.out, header, columns)
        print(f"{X.shape[0]} predictions written to {args.out}", file=sys.stderr)
    else:
        write_csv(out, header, columns)
    return 0

