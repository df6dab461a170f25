"""What the command-line tests share: small data files, the one-error-line check, a
trained model, and running ``python -m nnfast`` in a child process."""
import csv
import hashlib
import subprocess
import sys

import numpy as np


def write_csv(path, header, rows):
    """Write a CSV file with a header row; return `path`."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def blobs(path, n=40):
    """Two separated blobs in 2-D, labelled 0 and 1, as a CSV (f1, f2, y) at `path`."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(n // 2, 2) + 2, rng.randn(n // 2, 2) - 2])
    return write_csv(path, ["f1", "f2", "y"],
                     [[f"{a:.6f}", f"{b:.6f}", t] for (a, b), t
                      in zip(X, [0] * (n // 2) + [1] * (n // 2))])


def digest(path):
    """The SHA-256 of the file at `path`."""
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def one_error_line(capsys, command, message):
    """Assert that stderr holds exactly one line, ``nnfast <command>: error: ...``,
    containing `message`, and no traceback."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"nnfast {command}: error: "), err
    assert message in err, err
    assert "Traceback" not in err


def run_nnfast(args, timeout=60, **kwargs):
    """``python -m nnfast ARGS`` in a child process; the CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "nnfast", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def train_model(folder):
    """Train a small classifier on blobs with the CLI; return its model path."""
    from nnfast.cli import main

    path = folder / "m.nnfast"
    assert main(["train", str(blobs(folder / "train.csv")), "--epochs", "2", "--out",
                 str(path)]) == 0
    return path
