// The element-wise loops for each ISA, and the choice among them (made with the GEMM's,
// once, at import: see gemm::select_isa).
#include "nn/elementwise.h"

#include "gemm/gemm.h"

namespace nnfast::nn {

NNFAST_DEFINE_VEC_OPS(generic, )
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
NNFAST_DEFINE_VEC_OPS(avx2, __attribute__((target("avx2,fma"))))
NNFAST_DEFINE_VEC_OPS(avx512, __attribute__((target("avx512f"))))
#endif

namespace {
VecOps<float> g_f32 = generic_f32();
VecOps<double> g_f64 = generic_f64();
}  // namespace

void select_vec_ops(gemm::Isa isa) {
  g_f32 = generic_f32();
  g_f64 = generic_f64();
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (isa == gemm::Isa::Avx2) {
    g_f32 = avx2_f32();
    g_f64 = avx2_f64();
  } else if (isa == gemm::Isa::Avx512) {
    g_f32 = avx512_f32();
    g_f64 = avx512_f64();
  }
#endif
}

template <> const VecOps<float>& vec_ops<float>() { return g_f32; }
template <> const VecOps<double>& vec_ops<double>() { return g_f64; }

}  // namespace nnfast::nn
