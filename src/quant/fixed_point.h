// Integer arithmetic of TFLite's quantized kernels, bit for bit.
//
// Semantics follow tensorflow/lite/kernels/internal/quantization_util.cc
// (QuantizeMultiplier), common.cc (MultiplyByQuantizedMultiplier, double-rounding
// variant, i.e. built without TFLITE_SINGLE_ROUNDING, which is the default build) and
// gemmlowp's fixedpoint.h (SaturatingRoundingDoublingHighMul, RoundingDivideByPOT).
// Where TFLite relies on wrapping int32 overflow (it marks those functions
// TFLITE_NO_SANITIZE_INTEGER_OVERFLOW) liteq wraps explicitly, so results are equal
// and the code stays free of undefined behaviour.
#ifndef LITEQ_QUANT_FIXED_POINT_H_
#define LITEQ_QUANT_FIXED_POINT_H_

#include <cstdint>

namespace liteq::quant {

// real ~= multiplier * 2^(shift - 31); multiplier in [2^30, 2^31) or 0.
struct QuantizedMultiplier {
  int32_t multiplier = 0;
  int shift = 0;  // > 0: left shift, < 0: right shift
};

// TFLite QuantizeMultiplier: frexp, round the Q31 mantissa half away from zero,
// renormalise when rounding reaches 2^31, flush |multiplier| < ~2^-31 to zero
// (shift < -31 -> {0, 0}). `real` must be finite.
QuantizedMultiplier QuantizeMultiplier(double real);

// gemmlowp: (a * b * 2) >> 32 rounded half towards +infinity; the one overflowing
// case INT32_MIN * INT32_MIN saturates to INT32_MAX.
int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b);

// gemmlowp: x / 2^exponent rounded half away from zero; exponent in [0, 31].
int32_t RoundingDivideByPOT(int32_t x, int exponent);

// TFLite (double rounding): RoundingDivideByPOT(SRDHM(x << max(shift,0), m),
// max(-shift, 0)). The left shift wraps on overflow, as TFLite's does in practice.
// shift in [-31, 30].
int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int shift);

// TFLite int64 variant (16x8 kernels with int64 accumulators): the multiplier is
// reduced to 16 bits ((m + 2^15) >> 16, capped at 0x7FFF), then
// (x * reduced + 2^(14 - shift)) >> (15 - shift), truncated to int32. Valid for
// |x| < 2^47 and shift in [-31, 7] (TFLite's documented domain); outside it the
// arithmetic wraps instead of being undefined.
int32_t MultiplyByQuantizedMultiplier(int64_t x, int32_t multiplier, int shift);

// TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp (used by ADD/SUB):
// RoundingDivideByPOT(SRDHM(x, m), -left_shift), left_shift <= 0.
int32_t MultiplyByQuantizedMultiplierSmallerThanOneExp(int32_t x, int32_t multiplier,
                                                       int left_shift);

// x * 2^shift with int32 wrap-around (TFLite's `x * (1 << shift)`), shift in [0, 31].
int32_t WrappingShiftLeft(int32_t x, int shift);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_FIXED_POINT_H_
