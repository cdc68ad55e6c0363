// Dot products of one int8 row with every column of an int8 matrix stored [K, N]
// (depth-major), without transposing it first:
//   dots[i] = sum_k a[k] * b[k * ldb + i]      for i < count
// in int32 arithmetic that wraps modulo 2^32, as int8_dot.h (so the same integers as
// the reference kernels, whose accumulators are also reduced modulo 2^32). With a row
// of ones it gives the column sums of b.
//
// Used by the fast int8 BATCH_MATMUL when the lhs has only a few rows and the rhs is
// stored [K, N] (a decode step's probabilities x V over the cache): transposing the
// whole rhs would cost more than these multiply-adds (batch_matmul_fast.h).
//
// The AVX2 path takes two depth rows at a time: their bytes interleaved
// (vpunpck{l,h}bw), sign-extended to int16 pairs and multiplied with the pair (a[k],
// a[k + 1]) by vpmaddwd (exact: |x*y + z*w| <= 2^15); dispatch as int8_dot.h.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_KN_DOTS_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_KN_DOTS_H_

#include <cstddef>
#include <cstdint>

namespace liteq::runtime::quantized {

using KnDotsFn = void (*)(const int8_t* a, const int8_t* b, size_t depth, size_t ldb, size_t count,
                          int32_t* dots);

// The scalar specification.
void KnDotsPortable(const int8_t* a, const int8_t* b, size_t depth, size_t ldb, size_t count,
                    int32_t* dots);
// Only callable when Int8DotsAvx2Supported() (int8_dot.h); elsewhere the portable code.
void KnDotsAvx2(const int8_t* a, const int8_t* b, size_t depth, size_t ldb, size_t count,
                int32_t* dots);
KnDotsFn BestKnDots();

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_KN_DOTS_H_
