#!/usr/bin/env bash
# The 16-core scaling run on the device tool's machine. Nothing can be downloaded there,
# so nnfast is built against the pybind11, scikit-build-core, numpy and torch it has.
# With BASE=<source tree of an earlier commit>, that tree is built too and its nnfast timed
# in the same run, so a change is measured against its parent on the same machine.
# Everything lands in $OUT as it is produced (a run cut short still returns what it did).
set -u
OUT=${OUT:-/tmp/nnfast-device}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
{ nproc; lscpu | grep -E "Model name|^CPU\(s\)|Thread|NUMA node|cache|Flags" | cut -c1-200;
  env | grep -E "^(OMP|GOMP|KMP|OPENBLAS|MKL)_" ;
  python -c "import numpy, torch, sklearn; print('numpy', numpy.__version__, 'torch', torch.__version__, 'sklearn', sklearn.__version__)";
  which cmake ninja g++; } > "$OUT/machine.txt" 2>&1

# build <source tree> <site dir>: a wheel's install into its own folder, with the pip of the
# python that has torch (a bare `pip` there can belong to another interpreter); g++ directly
# if that fails (then without the per-file flags of CMakeLists.txt).
build() {
  (cd "$1" && CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) python -m pip install -q --no-build-isolation \
     --no-deps -Cbuild-dir="/tmp/build-$(basename "$2")" --target "$2" .) && return
  echo "pip build failed; building the extension with g++ directly"
  mkdir -p "$2" && cp -r "$1/python/nnfast" "$2/" && (cd "$1" &&
    g++ -O3 -shared -fPIC -fopenmp -std=c++17 -fno-math-errno -fno-trapping-math -ffp-contract=off \
      -Icsrc $(python -m pybind11 --includes) -DNNFAST_VERSION='"0.1.0"' \
      csrc/*.cpp csrc/gemm/*.cpp csrc/nn/*.cpp -o "$2/nnfast/_core$(python3-config --extension-suffix)")
}
build . /tmp/site-new > "$OUT/build.txt" 2>&1 &
if [ -n "${BASE:-}" ]; then build "$BASE" /tmp/site-base > "$OUT/build-base.txt" 2>&1 & fi
wait
export PYTHONPATH=/tmp/site-new
# The FMA peak of one core and of all of them at once (the probe releases the GIL, so one
# Python thread per core runs it concurrently): the ceiling for the 16-thread figures.
(cd /tmp && python -c "
import nnfast, os
from concurrent.futures import ThreadPoolExecutor
from nnfast import _core
nnfast.show_config()
n = os.cpu_count()
print('fma peak f32, 1 core', round(_core.fma_peak_gflops(True, 0.5)))
with ThreadPoolExecutor(n) as pool:
    print(f'fma peak f32, {n} cores at once', round(sum(pool.map(lambda _: _core.fma_peak_gflops(True, 0.5), range(n)))))
") >> "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

scaling() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/scaling.py "$@"; }
# 1. Every peer at 1-16 threads: the scaling table.
scaling --threads 1,2,4,8,16 --out "$OUT/scaling.json" 2>&1 | tee "$OUT/scaling.txt"
# 2. The earlier commit's nnfast, where one was given.
if [ -d /tmp/site-base/nnfast ]; then
  PYTHONPATH=/tmp/site-base scaling --threads "${BASE_THREADS:-1,2,4,8,16}" --peers nnfast --out "$OUT/base.json" 2>&1 \
    | tee "$OUT/base.txt"
fi
