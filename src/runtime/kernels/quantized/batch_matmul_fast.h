// Fast int8 BATCH_MATMUL on the int8 dot core (int8_dot.h), same integers as
// BatchMatMulInt8 (batch_matmul_int.h):
//   sum_k (a + lo) * (b + ro) = sum_k a*b + ro * sum_k a + lo * sum_k b + K * lo * ro
// modulo 2^32 like the reference's int32 accumulator, then the same double-rounding
// quant::MultiplyByQuantizedMultiplier. The dot core wants both operands with the
// depth contiguous: lhs as [M, K] (copied transposed when adj_x) and rhs as [N, K]
// (copied transposed unless adj_y; attention's QK^T is adj_y already, ·V is not).
//
// Two phases so the runtime can use threads: Stage (copies/transposes and row sums of
// every operand batch into scratch), then Block for one output batch and a column
// range, independent of the other blocks.
//
// Exception: an rhs stored [K, N] (not adj_y) with at most kDirectRows lhs rows, e.g.
// a decode step's probs x V over the whole cache, is not transposed: transposing all
// K * N bytes costs more than the M * K * N multiply-adds themselves. Block then
// takes the dots of each lhs row with the rhs columns in place (kn_dots.h: wrapping
// int32 sums, the same integers in any order), and Stage the rhs column sums (the
// dots with a row of ones).
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_BATCH_MATMUL_FAST_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_BATCH_MATMUL_FAST_H_

#include <array>
#include <cstdint>
#include <vector>

#include "runtime/kernels/quantized/batch_matmul_int.h"
#include "runtime/kernels/quantized/int8_dot.h"
#include "runtime/kernels/quantized/kn_dots.h"
#include "runtime/kernels/quantized/requantize_rows.h"

namespace liteq::runtime::quantized {

// Scratch bytes Stage needs (int32 sums first, so any 4-byte aligned scratch works).
size_t FastBatchMatMulInt8ScratchBytes(const BatchMatMulInt8Params& p);

// Most lhs rows for which an rhs stored [K, N] is used as is (header).
inline constexpr int64_t kBatchMatMulDirectRows = 4;

struct StagedBatchMatMulInt8 {
  const int8_t* lhs = nullptr;        // [input1_size, M, K]
  const int8_t* rhs = nullptr;        // [input2_size, N, K], or [K, N] when rhs_kn
  bool rhs_kn = false;                // rhs as stored, not transposed (header)
  const int32_t* lhs_sums = nullptr;  // [input1_size, M]: sum_k a (mod 2^32)
  const int32_t* rhs_sums = nullptr;  // [input2_size, N]: sum_k b
};

StagedBatchMatMulInt8 StageBatchMatMulInt8(const BatchMatMulInt8Params& p, const int8_t* lhs,
                                           const int8_t* rhs, uint8_t* scratch, Int8DotsFn dots,
                                           KnDotsFn kn_dots = BestKnDots());

// The (lhs batch, rhs batch, output batch) triples of the broadcast, in output order.
std::vector<std::array<int64_t, 3>> BatchMatMulBatchIndices(const BatchMatMulInt8Params& p);

// Output columns [n_begin, n_end) of output batch `batch` (a triple of the above).
// `requantize` is the epilogue (requantize_rows.h), BestBatchMatMulRequantize() unless
// a test picks one; `kn_dots` the same as Stage's.
void FastBatchMatMulInt8Block(const BatchMatMulInt8Params& p, const StagedBatchMatMulInt8& staged,
                              const std::array<int64_t, 3>& batch, int8_t* output, int64_t n_begin,
                              int64_t n_end, Int8DotsFn dots,
                              BatchMatMulRequantizeFn requantize = BestBatchMatMulRequantize(),
                              KnDotsFn kn_dots = BestKnDots());

// The whole op on one thread (tests; the interpreter splits the blocks over threads).
void FastBatchMatMulInt8(const BatchMatMulInt8Params& p, const int8_t* lhs, const int8_t* rhs,
                         int8_t* output, uint8_t* scratch, Int8DotsFn dots,
                         BatchMatMulRequantizeFn requantize = BestBatchMatMulRequantize(),
                         KnDotsFn kn_dots = BestKnDots());

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_BATCH_MATMUL_FAST_H_
