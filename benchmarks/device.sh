#!/usr/bin/env bash
# The 16-core run of issue 3 (the device tool's machine: nothing can be downloaded there, so
# nnfast is built against what it has). Results land in $OUT.
set -u
OUT=${OUT:-/tmp/nnfast-device}; mkdir -p "$OUT"
{ nproc; lscpu | grep -E "Model name|^CPU\(s\)|Thread|Flags" | cut -c1-200;
  python -c "import numpy, torch, sklearn; print('numpy', numpy.__version__, 'torch', torch.__version__, 'sklearn', sklearn.__version__)";
  which cmake ninja g++; } > "$OUT/machine.txt" 2>&1
if ! pip install -q --no-build-isolation --no-deps . > "$OUT/build.txt" 2>&1; then
  echo "pip build failed; building the extension with g++ directly" >> "$OUT/build.txt"
  g++ -O3 -shared -fPIC -fopenmp -std=c++17 -fno-math-errno -fno-trapping-math -ffp-contract=off \
    -Icsrc $(python -m pybind11 --includes) -DNNFAST_VERSION='"0.1.0"' \
    csrc/*.cpp csrc/gemm/*.cpp csrc/nn/*.cpp \
    -o python/nnfast/_core$(python3-config --extension-suffix) >> "$OUT/build.txt" 2>&1
  export PYTHONPATH=$PWD/python
fi
cd /tmp && python -c "import nnfast; nnfast.show_config(); from nnfast import _core; print('fma peak f32', _core.fma_peak_gflops(True))" >> "$OUT/machine.txt" 2>&1
cd - > /dev/null
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/scaling.py --threads 1,2,4,8,16 \
  --out "$OUT/scaling.json" > "$OUT/scaling.txt" 2>&1
cat "$OUT/machine.txt" "$OUT/scaling.txt"
