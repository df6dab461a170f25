"""``nnfast train DATA``: fit an MLPClassifier / MLPRegressor on a file, report held-out
metrics, save the model (``nnfast.load`` reads it back)."""
from __future__ import annotations

import io
import os
import sys
import warnings

import numpy as np

from ..errors import CLIError
from ..outputs import atomic_output, check_writable, refuse_input_as_output
from ..readers import read_table
from ..tables import format_bytes, physical_memory

__all__ = ["run", "infer_task", "training_memory"]

# Copies of the parameters a fit holds at once: the parameters and their gradients, plus
# the solver's state (adam: two moments; sgd: the velocities; L-BFGS: scipy's flat vectors
# and its 10 correction pairs), plus the best parameters kept for early stopping.
_PARAMETER_COPIES = {"adam": 4, "sgd": 3, "lbfgs": 26}
# How the stochastic solvers' warning about Ctrl-C begins.
_INTERRUPTED = "Training interrupted"


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


def training_memory(layer_sizes, solver, batch_rows, early_stopping=False, itemsize=8):
    """(parameters, bytes): how many parameters a network of `layer_sizes` (inputs, hidden
    ..., outputs) has, and about how much memory fitting it takes: the parameter copies
    the solver keeps, and the activations and deltas of `batch_rows` rows per layer."""
    sizes = [int(n) for n in layer_sizes]
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    copies = _PARAMETER_COPIES.get(solver, 4) + (1 if early_stopping else 0)
    activations = 2 * batch_rows * sum(sizes)
    return n_params, itemsize * (copies * n_params + activations)


def _check_network_fits(args, n_features, n_outputs, n_rows):
    """CLIError, with the figure, for a network whose training would need more memory than
    this machine has (``--hidden 1000000,1000000`` asks for terabytes)."""
    memory = physical_memory()
    if memory is None:
        return
    # scikit-learn's batch_size="auto" is min(200, rows); L-BFGS takes every row at once.
    batch = n_rows if args.solver == "lbfgs" else min(args.batch_size or 200, n_rows)
    layers = (n_features, *args.hidden, n_outputs)
    n_params, needed = training_memory(layers, args.solver, batch, args.early_stopping)
    if needed > memory:
        raise CLIError(f"a {'-'.join(map(str, layers))} network has {n_params:,} parameters; "
                       f"training it needs about {format_bytes(needed)} of memory, this "
                       f"machine has {format_bytes(memory)} (choose smaller --hidden sizes)")


def _default_output(args):
    """The model path: --out, else DATA's name with .nnfast; never DATA itself."""
    if args.out:
        refuse_input_as_output(args.out, {"DATA": args.data})
        return args.out
    path = _default_model_path(args.data)
    refuse_input_as_output(path, {"DATA": args.data},
                           option="the default model path (DATA's name with .nnfast)")
    return path


def _mpi_world(args):
    """The MPI world when this process is one of several launched by mpiexec (Open MPI's
    or MPICH's launcher says so in the environment), else None."""
    size = max(int(os.environ.get(v, "1") or 1) for v in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"))
    if size <= 1:
        return None
    try:
        from nnfast import distributed

        comm = distributed.world()
    except ImportError:
        raise CLIError(f"launched as one of {size} MPI processes, but mpi4py is missing: "
                       f"pip install 'nnfast[mpi]'") from None
    if args.reduction_chunks is None or args.reduction_chunks % size:
        raise CLIError(f"training across {size} processes needs --reduction-chunks S, a "
                       f"multiple of {size}")
    return comm


def _fit(model, X, y, comm=None):
    """Fit `model` (with every rank of `comm` when given); return (not_converged, epochs,
    whole): `epochs` is None when the fit ran to its end, else the number of whole epochs
    done before Ctrl-C stopped it, and `whole` says whether the model then holds those
    epochs' weights (a stochastic solver) or was stopped midway (L-BFGS, or Ctrl-C outside
    the epoch loop)."""
    from sklearn.exceptions import ConvergenceWarning

    epochs_done = [0]
    callbacks = list(model.callbacks or [])

    def count(est, info):  # the estimator's own count is lost when Ctrl-C escapes fit
        epochs_done[0] = info["epoch"]
        return False

    model.callbacks = [*callbacks, count]
    interrupted = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                if comm is None:
                    model.fit(X, y)
                else:
                    from nnfast import distributed

                    distributed.fit(model, X, y, comm=comm)
            except ValueError as exc:
                raise CLIError(f"training failed: {_first_line(exc)}") from None
            except KeyboardInterrupt:  # L-BFGS (scipy) lets it through, as may a setup step
                interrupted = True
    finally:
        model.callbacks = callbacks or None
    if interrupted:
        return False, epochs_done[0], False
    # The stochastic solvers catch Ctrl-C, keep the last whole epoch and say so in a
    # warning: an interruption, not a finished fit.
    if any(str(w.message).startswith(_INTERRUPTED) for w in caught):
        return False, int(model.n_iter_), True
    return any(issubclass(w.category, ConvergenceWarning) for w in caught), None, True


def _save(model, path):
    """Write `model` to `path` (whole or not at all), once it is known to load back: a file
    ``nnfast.load`` refuses (a model with non-finite values) is not worth writing."""
    import nnfast

    buffer = io.BytesIO()
    model.save(buffer)
    try:
        nnfast.load(io.BytesIO(buffer.getvalue()))
    except ValueError as exc:
        raise CLIError(f"the trained model does not load back ({_first_line(exc)}); "
                       f"nothing saved (a lower --lr or --alpha, or scaled features, may "
                       f"help)") from None
    with atomic_output(path, "wb") as f:
        f.write(buffer.getvalue())


def _first_line(exc):
    # scikit-learn's messages may quote whole arrays over many lines; the CLI has one.
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _interrupted(model, path, epochs, whole, save):
    """Ctrl-C ended the training after `epochs` whole epochs: one line on stderr, the
    model saved only when the user asked for it (--save-on-interrupt); return 130."""
    line = f"nnfast train: interrupted after {epochs} epoch{'s' if epochs != 1 else ''}"
    if not save:
        line += "; nothing saved (--save-on-interrupt keeps the model trained so far)"
    elif not whole:
        line += "; nothing saved (stopped midway, not between epochs: no whole model)"
    else:
        try:
            _save(model, path)
        except CLIError as exc:  # still an interruption: 130, with the reason on the line
            line += f"; {exc}"
        else:
            line += f"; the model trained so far saved to {os.path.abspath(path)}"
    print(line, file=sys.stderr)
    return 130


def run(args, out):
    """Train on ``args.data`` with the options of ``nnfast train``; return 0, or 130 when
    Ctrl-C stopped the training. Under mpiexec every rank reads DATA (a .npy file is
    memory-mapped) and trains its chunks; rank 0 alone reports and writes the model."""
    comm = _mpi_world(args)
    if comm is not None and comm.Get_rank() != 0:
        out = open(os.devnull, "w")  # lives as long as the process
    path = _default_output(args)
    check_writable(path)
    X, y, names, target = read_table(args.data, args.target, need_target=True)
    task = args.task or infer_task(y)
    if task == "regress":
        if y.dtype.kind not in "biuf":
            raise CLIError(f"target column {target!r} is not numeric: it cannot be "
                           f"regressed (use --task classify)")
        y = y.astype(np.float64)
    elif y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise CLIError(f"target column {target!r} holds fractional numbers: they are not "
                       f"class labels (use --task regress)")
    # scikit-learn only now, after the file has been read: a bad file fails fast, and
    # importing this module (the tests do) stays cheap.
    from nnfast import MLPClassifier, MLPRegressor

    n_classes = np.unique(y).size if task == "classify" else 0
    if task == "classify" and n_classes < 2:
        raise CLIError(f"target column {target!r} holds a single class; need at least 2")
    _check_network_fits(args, X.shape[1], 1 if n_classes <= 2 else n_classes, X.shape[0])
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
                  n_jobs=args.threads, callbacks=[progress],
                  reduction_chunks=args.reduction_chunks)
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
    if comm is not None:
        print(f"  across {comm.Get_size()} MPI processes, {args.reduction_chunks} chunks a "
              f"batch", file=out, flush=True)
    not_converged, interrupted_after, whole = _fit(model, X, y, comm)
    if comm is not None and comm.Get_rank() != 0:
        return 130 if interrupted_after is not None else 0  # rank 0 reports and saves
    if interrupted_after is not None:
        return _interrupted(model, path, interrupted_after, whole, args.save_on_interrupt)
    if not_converged:
        print(f"  note: not converged after {model.n_iter_} epochs "
              f"(more --epochs or another --lr may help)", file=out)
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
    _save(model, path)
    print(f"model saved to {os.path.abspath(path)}", file=out)
    return 0

