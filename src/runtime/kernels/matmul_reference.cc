#include "runtime/kernels/matmul.h"

namespace liteq::runtime {

void ReferenceMatMulNT(const MatMulArgs& p) {
  for (size_t i = 0; i < p.m; ++i) {
    for (size_t j = 0; j < p.n; ++j) {
      float sum = 0.0f;
      for (size_t k = 0; k < p.k; ++k) sum += p.a[i * p.lda + k] * p.b[j * p.ldb + k];
      p.c[i * p.ldc + j] = sum + (p.bias != nullptr ? p.bias[j] : 0.0f);
    }
  }
}

void ReferenceMatMulNN(const MatMulArgs& p) {
  for (size_t i = 0; i < p.m; ++i) {
    for (size_t j = 0; j < p.n; ++j) {
      float sum = 0.0f;
      for (size_t k = 0; k < p.k; ++k) sum += p.a[i * p.lda + k] * p.b[k * p.ldb + j];
      p.c[i * p.ldc + j] = sum;
    }
  }
}

}  // namespace liteq::runtime
