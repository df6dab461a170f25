"""The argparse tree of ``python -m nnfast``: every subcommand, option, default and help
text in one place, and the option types that reject bad values at parse time (a usage
error, exit code 2). Which code runs a subcommand is :mod:`nnfast.cli.commands`' business.
"""
from __future__ import annotations

import argparse

import numpy as np

from nnfast._checks import HIDDEN_ACTIVATIONS
from nnfast._codes import SOLVERS
from nnfast.lecture.demo import DEFAULT_FIGURES

__all__ = ["build_parser"]


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {value}")
    return value


# What numpy.random.RandomState, and so scikit-learn's random_state, accepts.
_MAX_SEED = 2**32 - 1


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
    if not 0 <= value <= _MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected an integer from 0 to {_MAX_SEED}; got {value}")
    return value


def _hidden_sizes(text):
    text = text.strip()
    if text in ("", "0", "none"):
        return ()
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes like 64,32; got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive; got {text!r}")
    return sizes


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1); got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1); got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}") from None
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}")
    return value


def _nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0; got {text!r}") from None
    if not value >= 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a number >= 0; got {text!r}")
    return value


def build_parser():
    """The argparse parser of ``python -m nnfast``."""
    from nnfast import __version__

    parser = argparse.ArgumentParser(
        prog="nnfast",
        description="Multilayer perceptrons trained by C++/OpenMP kernels, checked against "
                    "a pure-NumPy reference.")
    parser.add_argument("--version", action="version", version=f"nnfast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser(
        "info", help="print the build: SIMD, CPU features, GEMM kernel, OpenMP and threads",
        description="Print how nnfast was built and what it will use on this machine.")

    p_demo = sub.add_parser(
        "demo", help="the lecture run: perceptron, logistic regression, the XOR network, "
                     "an MLP on handwritten digits, timed against the reference and "
                     "scikit-learn",
        description="The perceptron and logistic regression (one sigmoid neuron) on AND, OR "
                    "and XOR; the lecture's XOR network (2-3-1, sigmoid); then an MLP on "
                    "scikit-learn's bundled handwritten digits with per-epoch progress. The "
                    "networks are trained once with nnfast's C++ kernels and once with the "
                    "pure-NumPy reference from the same initial weights, and the digits "
                    "network also by scikit-learn's MLPClassifier with the same settings; "
                    "predictions, accuracies, final losses and fit times are printed side by "
                    "side. With matplotlib installed it writes PNG figures (XOR decision "
                    "boundaries, digits loss curve, confusion matrix). Offline; takes a few "
                    "seconds.")
    p_demo.add_argument("--epochs-xor", type=_positive_int, default=5000, metavar="N",
                        help="epochs of full-batch gradient descent on XOR (default: 5000)")
    p_demo.add_argument("--epochs-digits", type=_positive_int, default=30, metavar="N",
                        help="epochs over the digits training set (default: 30)")
    p_demo.add_argument("--threads", type=_positive_int, default=None, metavar="T",
                        help="OpenMP threads for nnfast's kernels (needs threadpoolctl; "
                             "otherwise set OMP_NUM_THREADS before starting Python)")
    p_demo.add_argument("--figures", default=DEFAULT_FIGURES, metavar="DIR",
                        help="folder for the PNG figures, created if needed (default: "
                             f"./{DEFAULT_FIGURES}); needs matplotlib")
    p_demo.add_argument("--no-figures", action="store_true",
                        help="do not draw the figures")

    p_train = sub.add_parser(
        "train", help="train an MLP on a CSV, Parquet, .npy or .npz file and save it",
        description="Train nnfast.MLPClassifier or MLPRegressor on DATA: a CSV file with a "
                    "header row (the target is --target, by default the last column; every "
                    "other column is a numeric feature), a Parquet file (the same, by column "
                    "name), a 2-D .npy array (memory-mapped; features, then the target as its "
                    "last column) or an .npz archive with arrays X and y. Prints the loss per "
                    "epoch, held-out metrics (accuracy and a per-class report, or R^2 and "
                    "RMSE) and saves the model (nnfast.load reads it). "
                    "Features are used as given: scale them beforehand.")
    p_train.add_argument("data", metavar="DATA",
                         help="a .csv (with header), .parquet, .npy (target last) or .npz "
                              "(X, y) file")
    p_train.add_argument("--target", metavar="COLUMN", default=None,
                         help="the CSV's or Parquet file's target column (default: the last "
                              "column)")
    p_train.add_argument("--task", choices=["classify", "regress"], default=None,
                         help="default: classify for a non-numeric target or one with at "
                              "most 20 distinct integers, else regress")
    p_train.add_argument("--hidden", type=_hidden_sizes, default=(64,), metavar="SIZES",
                         help="hidden layer sizes, comma-separated (default: 64; '' or 0: "
                              "no hidden layer)")
    p_train.add_argument("--activation", default="relu",
                         choices=list(HIDDEN_ACTIVATIONS),
                         help="hidden-layer activation (default: relu)")
    p_train.add_argument("--solver", default="adam", choices=[*SOLVERS, "lbfgs"],
                         help="optimizer (default: adam)")
    p_train.add_argument("--epochs", type=_positive_int, default=200, metavar="N",
                         help="most epochs (max_iter; default: 200)")
    p_train.add_argument("--batch-size", type=_positive_int, default=None, metavar="B",
                         help="mini-batch size (default: min(200, rows))")
    p_train.add_argument("--lr", type=_positive_float, default=None, metavar="RATE",
                         help="initial learning rate (default: 0.001)")
    p_train.add_argument("--alpha", type=_nonnegative_float, default=1e-4, metavar="A",
                         help="L2 penalty (default: 1e-4)")
    p_train.add_argument("--seed", type=_seed, default=0, metavar="S",
                         help=f"random seed, 0 to {_MAX_SEED} (default: 0)")
    p_train.add_argument("--threads", type=_positive_int, default=None, metavar="T",
                         help="OpenMP threads for the kernels (default: OMP_NUM_THREADS)")
    p_train.add_argument("--reduction-chunks", type=_positive_int, default=None, metavar="S",
                         help="each batch's gradient as S chunks added in a fixed order: the "
                              "same model at any thread count and on the K processes of "
                              "'mpiexec -n K python -m mpi4py -m nnfast train' (S a multiple "
                              "of K; needed there)")
    p_train.add_argument("--test-size", type=_fraction, default=0.2, metavar="F",
                         help="fraction of rows held out for the metrics (default: 0.2; "
                              "0: none)")
    p_train.add_argument("--early-stopping", action="store_true",
                         help="stop when the score on an internal validation split stalls")
    p_train.add_argument("--out", metavar="MODEL", default=None,
                         help="model file to write (default: DATA's name with .nnfast); "
                              "never one of the inputs")
    p_train.add_argument("--save-on-interrupt", action="store_true",
                         help="on Ctrl-C, save the model as trained so far (default: save "
                              "nothing; either way the exit code is 130)")

    p_predict = sub.add_parser(
        "predict", help="predict with a saved model; CSV to stdout, CSV or Parquet to --out",
        description="Load MODEL (written by 'nnfast train' or est.save) and predict the rows "
                    "of DATA (.csv with header, .parquet, .npy, or .npz with X). A table "
                    "with one column more than the model's features is taken to be laid out "
                    "like the training file and its last column (the target) is ignored; or name it with "
                    "--target.")
    p_predict.add_argument("model", metavar="MODEL")
    p_predict.add_argument("data", metavar="DATA")
    p_predict.add_argument("--target", metavar="COLUMN", default=None,
                           help="a column of DATA to ignore (the target)")
    p_predict.add_argument("--proba", action="store_true",
                           help="add the class probabilities (classifiers)")
    p_predict.add_argument("--out", metavar="FILE", default=None,
                           help="write here instead of stdout: Parquet for a .parquet or "
                                ".pq name, else CSV (never one of the inputs)")

    p_export = sub.add_parser(
        "export", help="write a saved model as an ONNX file (needs nnfast[onnx])",
        description="Load MODEL (written by 'nnfast train' or est.save) and write it to OUT as "
                    "an ONNX model (nnfast.to_onnx): one float32 input X (n_samples, "
                    "n_features); classifiers output 'label' and 'probabilities', "
                    "regressors 'variable'. Needs skl2onnx: pip install 'nnfast[onnx]'. "
                    "activation='leaky_relu' models cannot be exported.")
    p_export.add_argument("model", metavar="MODEL")
    p_export.add_argument("out", metavar="OUT",
                          help="the .onnx file to write (never MODEL itself)")

    # Everything after "bench" belongs to nnfast.bench, which parses its own options
    # (--help included, hence add_help=False): one parser per option set, so the two can
    # never disagree. main() passes on what argparse leaves unparsed here.
    p_bench = sub.add_parser(
        "bench", add_help=False,
        help="time nnfast against the NumPy reference, scikit-learn and PyTorch "
             "('nnfast bench --help' lists its options, e.g. --quick)",
        description="Run nnfast's benchmark comparison (nnfast.bench); every argument is "
                    "passed to it.")
    p_bench.add_argument("bench_args", nargs=argparse.REMAINDER, metavar="ARGS",
                         help="options for nnfast.bench, e.g. --quick")
    return parser
