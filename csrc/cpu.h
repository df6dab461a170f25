// What this build and this CPU can do, for nnfast.show_config().
#pragma once
#include <string>
#include <vector>

namespace nnfast {

// SIMD instruction sets the compiler was allowed to use for the whole extension.
std::string compiled_simd();
// Instruction sets this CPU reports (x86-64: from cpuid; elsewhere: empty).
std::vector<std::string> cpu_features();
// The GEMM microkernel ISA in use: generic, avx2 or avx512.
std::string selected_kernel();
bool openmp_enabled();

}  // namespace nnfast
