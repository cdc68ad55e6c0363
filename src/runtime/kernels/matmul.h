// Float matrix products used by FULLY_CONNECTED and BATCH_MATMUL, in two forms:
//   NT: c[m, n] = sum_k a[m, k] * b[n, k]  (+ bias[n])   b row-major [N, K] (FC weights)
//   NN: c[m, n] = sum_k a[m, k] * b[k, n]                b row-major [K, N]
// Each has a plain reference implementation (the spec, used by tests) and a fast
// one (Highway SIMD with runtime dispatch to the best instruction set, register-
// blocked tiles). The fast results equal the reference up to float reassociation:
// tests compare them with kMatMulRelativeTolerance.
#ifndef LITEQ_RUNTIME_KERNELS_MATMUL_H_
#define LITEQ_RUNTIME_KERNELS_MATMUL_H_

#include <cstddef>
#include <cstdint>

namespace liteq::runtime {

struct MatMulArgs {
  const float* a = nullptr;
  size_t lda = 0;  // row strides in elements
  const float* b = nullptr;
  size_t ldb = 0;
  const float* bias = nullptr;  // NT only; may be null
  float* c = nullptr;
  size_t ldc = 0;
  size_t m = 0, n = 0, k = 0;
};

// Maximum |fast - reference| relative to sum_k |a[m,k] * b[k,n]| (the scale of the
// rounding error of any summation order): a few float ulps times log2(K).
inline constexpr float kMatMulRelativeTolerance = 1e-5f;

void ReferenceMatMulNT(const MatMulArgs& args);
void ReferenceMatMulNN(const MatMulArgs& args);

// Computes output columns [n_begin, n_end) only (FULLY_CONNECTED splits output
// channels across threads this way).
void FastMatMulNT(const MatMulArgs& args, size_t n_begin, size_t n_end);
void FastMatMulNN(const MatMulArgs& args);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_MATMUL_H_
