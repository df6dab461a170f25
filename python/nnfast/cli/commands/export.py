"""``nnfast export MODEL OUT.onnx``: a saved model as an ONNX file (nnfast.to_onnx)."""
from __future__ import annotations

import argparse
import sys
from typing import TextIO

import numpy as np

from ..errors import CLIError
from ..outputs import atomic_output, check_writable, refuse_input_as_output
from .predict import _load_model

__all__ = ["run"]


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Write the model ``args.model`` as ONNX to ``args.out``; return 0."""
    refuse_input_as_output(args.out, {"MODEL": args.model}, option="OUT")
    check_writable(args.out)
    model = _load_model(args.model)
    from nnfast.onnx_export import to_onnx

    # to_onnx reads only the sample's width: one row of zeros says it.
    X_sample = np.zeros((1, int(model.n_features_in_)), dtype=np.float32)
    try:
        proto = to_onnx(model, X_sample)
    except (ImportError, ValueError) as exc:
        raise CLIError(str(exc).splitlines()[0]) from None
    data = proto.SerializeToString()
    with atomic_output(args.out, "wb") as handle:
        handle.write(data)
    print(f"ONNX model ({len(data)} bytes) written to {args.out}", file=sys.stderr)
    return 0
