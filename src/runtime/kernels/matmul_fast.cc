// Highway SIMD matmuls. This file is compiled once per target instruction set
// (foreach_target.h re-includes it); HWY_DYNAMIC_DISPATCH picks the best one the CPU
// supports at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "runtime/kernels/matmul_fast.cc"
#include <algorithm>

#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/matmul.h"

HWY_BEFORE_NAMESPACE();
namespace liteq::runtime {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;

// MR rows of a times NR rows of b (NT form): MR*NR dot products sharing their loads.
template <size_t MR, size_t NR>
HWY_INLINE void TileNT(const MatMulArgs& p, size_t m0, size_t n0) {
  const D d;
  const size_t lanes = hn::Lanes(d);
  V acc[MR][NR];
  for (size_t i = 0; i < MR; ++i) {
    for (size_t j = 0; j < NR; ++j) acc[i][j] = hn::Zero(d);
  }
  const float* a = p.a + m0 * p.lda;
  const float* b = p.b + n0 * p.ldb;
  size_t k = 0;
  for (; k + lanes <= p.k; k += lanes) {
    V bv[NR];
    for (size_t j = 0; j < NR; ++j) bv[j] = hn::LoadU(d, b + j * p.ldb + k);
    for (size_t i = 0; i < MR; ++i) {
      const V av = hn::LoadU(d, a + i * p.lda + k);
      for (size_t j = 0; j < NR; ++j) acc[i][j] = hn::MulAdd(av, bv[j], acc[i][j]);
    }
  }
  for (size_t i = 0; i < MR; ++i) {
    for (size_t j = 0; j < NR; ++j) {
      float sum = hn::GetLane(hn::SumOfLanes(d, acc[i][j]));
      for (size_t kk = k; kk < p.k; ++kk) sum += a[i * p.lda + kk] * b[j * p.ldb + kk];
      if (p.bias != nullptr) sum += p.bias[n0 + j];
      p.c[(m0 + i) * p.ldc + n0 + j] = sum;
    }
  }
}

void MatMulNT(const MatMulArgs& p, size_t n_begin, size_t n_end) {
  if (p.m >= 4) {
    // Blocks of weight rows small enough to stay in L2 (~96 KiB) while every row tile
    // of a passes over them; within a block, a 4-row tile of a stays in L1 while it
    // meets each pair of weight rows. Weights are streamed from memory once.
    const size_t row_bytes = std::max<size_t>(1, p.k) * sizeof(float);
    const size_t block = std::max<size_t>(2, (96 * 1024 / row_bytes) & ~size_t{1});
    for (size_t nb = n_begin; nb < n_end; nb += block) {
      const size_t ne = std::min(n_end, nb + block);
      size_t m = 0;
      for (; m + 4 <= p.m; m += 4) {
        size_t n = nb;
        for (; n + 2 <= ne; n += 2) TileNT<4, 2>(p, m, n);
        for (; n < ne; ++n) TileNT<4, 1>(p, m, n);
      }
      for (; m < p.m; ++m) {
        size_t n = nb;
        for (; n + 4 <= ne; n += 4) TileNT<1, 4>(p, m, n);
        for (; n < ne; ++n) TileNT<1, 1>(p, m, n);
      }
    }
    return;
  }
  // Few rows (decode: a GEMV over the weights): eight weight rows per pass keep
  // enough independent loads in flight to run at memory speed.
  size_t n = n_begin;
  for (; n + 8 <= n_end; n += 8) {
    for (size_t m = 0; m < p.m; ++m) TileNT<1, 8>(p, m, n);
  }
  for (; n + 4 <= n_end; n += 4) {
    for (size_t m = 0; m < p.m; ++m) TileNT<1, 4>(p, m, n);
  }
  for (; n < n_end; ++n) {
    for (size_t m = 0; m < p.m; ++m) TileNT<1, 1>(p, m, n);
  }
}

// MR rows of c, NV vectors of columns starting at n0 (NN form): broadcast a[m, k],
// multiply a contiguous row segment of b.
template <size_t MR, size_t NV>
HWY_INLINE void TileNN(const MatMulArgs& p, size_t m0, size_t n0) {
  const D d;
  const size_t lanes = hn::Lanes(d);
  V acc[MR][NV];
  for (size_t i = 0; i < MR; ++i) {
    for (size_t j = 0; j < NV; ++j) acc[i][j] = hn::Zero(d);
  }
  for (size_t k = 0; k < p.k; ++k) {
    V bv[NV];
    const float* brow = p.b + k * p.ldb + n0;
    for (size_t j = 0; j < NV; ++j) bv[j] = hn::LoadU(d, brow + j * lanes);
    for (size_t i = 0; i < MR; ++i) {
      const V av = hn::Set(d, p.a[(m0 + i) * p.lda + k]);
      for (size_t j = 0; j < NV; ++j) acc[i][j] = hn::MulAdd(av, bv[j], acc[i][j]);
    }
  }
  for (size_t i = 0; i < MR; ++i) {
    for (size_t j = 0; j < NV; ++j)
      hn::StoreU(acc[i][j], d, p.c + (m0 + i) * p.ldc + n0 + j * lanes);
  }
}

template <size_t MR>
HWY_INLINE void RowsNN(const MatMulArgs& p, size_t m0) {
  const size_t lanes = hn::Lanes(D());
  size_t n = 0;
  for (; n + 2 * lanes <= p.n; n += 2 * lanes) TileNN<MR, 2>(p, m0, n);
  for (; n + lanes <= p.n; n += lanes) TileNN<MR, 1>(p, m0, n);
  for (; n < p.n; ++n) {  // scalar tail columns
    for (size_t i = 0; i < MR; ++i) {
      float sum = 0.0f;
      for (size_t k = 0; k < p.k; ++k) sum += p.a[(m0 + i) * p.lda + k] * p.b[k * p.ldb + n];
      p.c[(m0 + i) * p.ldc + n] = sum;
    }
  }
}

void MatMulNN(const MatMulArgs& p) {
  size_t m = 0;
  for (; m + 4 <= p.m; m += 4) RowsNN<4>(p, m);
  for (; m < p.m; ++m) RowsNN<1>(p, m);
}

}  // namespace HWY_NAMESPACE
}  // namespace liteq::runtime
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace liteq::runtime {

HWY_EXPORT(MatMulNT);
HWY_EXPORT(MatMulNN);

void FastMatMulNT(const MatMulArgs& args, size_t n_begin, size_t n_end) {
  HWY_DYNAMIC_DISPATCH(MatMulNT)(args, n_begin, n_end);
}

void FastMatMulNN(const MatMulArgs& args) { HWY_DYNAMIC_DISPATCH(MatMulNN)(args); }

}  // namespace liteq::runtime
#endif  // HWY_ONCE
