// The CPU's measured fused multiply-add peak (GFLOP/s, one thread, the active GEMM ISA's
// vector width), the yardstick that GEMM and training throughput are read against.
#pragma once

namespace nnfast {
double fma_peak_gflops(bool f32, double seconds);
}
