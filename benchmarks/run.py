"""The full training benchmark: nnfast against its NumPy reference, scikit-learn and PyTorch.

The workloads, peers, measurement and reports live in the installed package
(nnfast.bench), so `python -m nnfast bench` runs the same thing from a wheel. This script
is the recorded run's entry point; see benchmarks/README.md for the options.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run.py \\
        --out-json /tmp/run.json --chart benchmarks/results.png \\
        --results-md benchmarks/RESULTS.md
"""
import sys

from nnfast.bench import main

if __name__ == "__main__":
    sys.exit(main())
