// The int32 -> int8 tails of the static int8 kernels (FULLY_CONNECTED and
// BATCH_MATMUL epilogues, MUL and ADD/SUB) as row functions over n contiguous
// outputs, each in a portable version and an AVX2 version (issue #6: done one element
// at a time these cost more than a third of a W8A8 prefill).
//
// The portable versions ARE the specification: they are the scalar arithmetic of the
// reference kernels (ApplyMultiplier's single rounding, quantized_common.h;
// quant::MultiplyByQuantizedMultiplier's double rounding, fixed_point.h), and every
// AVX2 version returns the same int8 for every input (tests/runtime/
// quantized_requantize_simd_test.cc checks them against each other). Where the scalar
// code adds the output zero point to a saturated int32 both versions wrap modulo 2^32
// (the scalar code does that addition in uint32, so it stays defined).
//
// Dispatch: the Best* functions return the AVX-512 version (FULLY_CONNECTED, MUL,
// ADD/SUB: requantize_rows_avx512.cc) when RequantizeAvx512Supported(), else the AVX2
// version when the CPU has AVX2 (Int8DotsAvx2Supported(), int8_dot.h; the library is
// built for generic x86-64), else the portable one; callers pick once, at Prepare.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_REQUANTIZE_ROWS_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_REQUANTIZE_ROWS_H_

#include <cstddef>
#include <cstdint>

#include "runtime/kernels/quantized/elementwise_int.h"
#include "runtime/kernels/quantized/quantized_common.h"

namespace liteq::runtime::quantized {

// FULLY_CONNECTED: out[i] = clamp(ApplyMultiplier(int64(dots[i] + bias[i]),
// {multiplier[i], 31 - total_shift[i]}) + output_offset, min, max), the sum modulo 2^32.
// The pointers are at the row's first channel (per-channel arrays; a per-tensor
// multiplier is expanded at Prepare).
struct FcRequantizeArgs {
  const int32_t* bias = nullptr;        // folded bias (fully_connected_fast.h)
  const int32_t* multiplier = nullptr;  // in [0, 2^31)
  // 31 - shift, in [1, 62]: one byte per channel (SmolLM2-135M static_int8: 0.6 MB
  // less than int32, issue #6).
  const int8_t* total_shift = nullptr;
  int32_t output_offset = 0;
  int32_t min = -128;  // activation clamp, within [-128, 127], min <= max
  int32_t max = 127;
  // Some total_shift < 31 (a multiplier >= 1): only then can a product leave int32
  // and need ApplyMultiplier's saturation, so the AVX2 code skips it otherwise.
  bool saturate = true;
};
using FcRequantizeFn = void (*)(const FcRequantizeArgs& args, const int32_t* dots, size_t n,
                                int8_t* out);
void FcRequantizePortable(const FcRequantizeArgs& args, const int32_t* dots, size_t n, int8_t* out);
// Only callable when Int8DotsAvx2Supported().
void FcRequantizeAvx2(const FcRequantizeArgs& args, const int32_t* dots, size_t n, int8_t* out);
// Only callable when RequantizeAvx512Supported().
void FcRequantizeAvx512(const FcRequantizeArgs& args, const int32_t* dots, size_t n, int8_t* out);
FcRequantizeFn BestFcRequantize();
// The same over a block of `rows` rows of the FC's output (dots[r * ld_dots + i] ->
// out[r * ld_out + i], i < n, every row with the channels of `args`): one tile of dots,
// whose channels' parameters the AVX-512 version loads once for all the rows.
using FcRequantizeBlockFn = void (*)(const FcRequantizeArgs& args, const int32_t* dots,
                                     size_t ld_dots, size_t rows, size_t n, int8_t* out,
                                     size_t ld_out);
void FcRequantizeBlockPortable(const FcRequantizeArgs& args, const int32_t* dots, size_t ld_dots,
                               size_t rows, size_t n, int8_t* out, size_t ld_out);
void FcRequantizeBlockAvx2(const FcRequantizeArgs& args, const int32_t* dots, size_t ld_dots,
                           size_t rows, size_t n, int8_t* out, size_t ld_out);
void FcRequantizeBlockAvx512(const FcRequantizeArgs& args, const int32_t* dots, size_t ld_dots,
                             size_t rows, size_t n, int8_t* out, size_t ld_out);
FcRequantizeBlockFn BestFcRequantizeBlock();

// BATCH_MATMUL, one output row m over columns n:
//   acc = dots[i] + row_term + lhs_offset * col_sums[i]   (modulo 2^32)
//   out[i] = clamp(MultiplyByQuantizedMultiplier(acc, multiplier) + output_offset, -128, 127)
// with row_term = rhs_offset * sum_k a[m, k] + K * lhs_offset * rhs_offset
// (batch_matmul_fast.h).
struct BatchMatMulRequantizeArgs {
  const int32_t* col_sums = nullptr;  // sum_k b[k, n] for the row's columns
  uint32_t lhs_offset = 0;
  uint32_t row_term = 0;
  quant::QuantizedMultiplier multiplier;  // multiplier >= 0, shift in [-31, 30]
  int32_t output_offset = 0;
};
using BatchMatMulRequantizeFn = void (*)(const BatchMatMulRequantizeArgs& args, const int32_t* dots,
                                         size_t n, int8_t* out);
void BatchMatMulRequantizePortable(const BatchMatMulRequantizeArgs& args, const int32_t* dots,
                                   size_t n, int8_t* out);
void BatchMatMulRequantizeAvx2(const BatchMatMulRequantizeArgs& args, const int32_t* dots, size_t n,
                               int8_t* out);
// Only callable when RequantizeAvx512Supported().
void BatchMatMulRequantizeAvx512(const BatchMatMulRequantizeArgs& args, const int32_t* dots,
                                 size_t n, int8_t* out);
BatchMatMulRequantizeFn BestBatchMatMulRequantize();

// int8 MUL and ADD/SUB over a row of a broadcast: out[i] = op(a[i * a_step],
// b[i * b_step]) with steps 0 (the input repeats one element along the row) or 1, as
// MulElement / AddSubElement (elementwise_int.h). Params from PrepareMul /
// PrepareAddSub for IntType::kInt8 (single rounding); the AVX2 versions hand other
// params to the portable code.
using MulInt8RowFn = void (*)(const MulParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                              size_t b_step, int8_t* out, size_t n);
using AddSubInt8RowFn = void (*)(const AddSubParams& p, const int8_t* a, size_t a_step,
                                 const int8_t* b, size_t b_step, int8_t* out, size_t n);
void MulInt8RowPortable(const MulParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                        size_t b_step, int8_t* out, size_t n);
void MulInt8RowAvx2(const MulParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                    size_t b_step, int8_t* out, size_t n);
void AddSubInt8RowPortable(const AddSubParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                           size_t b_step, int8_t* out, size_t n);
void AddSubInt8RowAvx2(const AddSubParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                       size_t b_step, int8_t* out, size_t n);
// Only callable when RequantizeAvx512Supported().
void MulInt8RowAvx512(const MulParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                      size_t b_step, int8_t* out, size_t n);
void AddSubInt8RowAvx512(const AddSubParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                         size_t b_step, int8_t* out, size_t n);
// The CPU has AVX-512 F, BW and VL.
bool RequantizeAvx512Supported();
MulInt8RowFn BestMulInt8Row();
AddSubInt8RowFn BestAddSubInt8Row();

// The ADD/SUB parameters the SIMD rows handle: PrepareAddSub (int8) gives single
// rounding, shifts <= 0 and left_shift 20, where no step overflows or saturates;
// anything else takes the portable row.
inline bool AddSubFitsSimdRows(const AddSubParams& p) {
  return p.single_rounding && p.input1.shift <= 0 && p.input2.shift <= 0 && p.output.shift <= 0 &&
         p.left_shift >= 0 && p.left_shift <= 20;
}

// One element of the FULLY_CONNECTED / BATCH_MATMUL rows above (the portable rows and
// the AVX2 rows' tails).
inline int8_t FcRequantizeOne(const FcRequantizeArgs& args, int32_t dot, size_t i) {
  const int32_t acc =
      static_cast<int32_t>(static_cast<uint32_t>(dot) + static_cast<uint32_t>(args.bias[i]));
  // ApplyMultiplier for int32 accumulators in 64 bits (as ApplyFastMultiplier,
  // fully_connected_fast.h): |acc * multiplier| < 2^62, the rounding term <= 2^61.
  const int total_shift = args.total_shift[i];
  const int64_t r =
      (int64_t{acc} * args.multiplier[i] + (int64_t{1} << (total_shift - 1))) >> total_shift;
  const auto scaled =
      static_cast<int32_t>(r < INT32_MIN ? INT32_MIN : (r > INT32_MAX ? INT32_MAX : r));
  const auto out = static_cast<int32_t>(static_cast<uint32_t>(scaled) +
                                        static_cast<uint32_t>(args.output_offset));
  return static_cast<int8_t>(out < args.min ? args.min : (args.max < out ? args.max : out));
}

inline int8_t BatchMatMulRequantizeOne(const BatchMatMulRequantizeArgs& args, int32_t dot,
                                       size_t i) {
  const auto acc = static_cast<int32_t>(static_cast<uint32_t>(dot) + args.row_term +
                                        args.lhs_offset * static_cast<uint32_t>(args.col_sums[i]));
  const int32_t scaled =
      quant::MultiplyByQuantizedMultiplier(acc, args.multiplier.multiplier, args.multiplier.shift);
  const auto out = static_cast<int32_t>(static_cast<uint32_t>(scaled) +
                                        static_cast<uint32_t>(args.output_offset));
  return static_cast<int8_t>(out < -128 ? -128 : (out > 127 ? 127 : out));
}

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_REQUANTIZE_ROWS_H_
