#include "runtime/kernels/quantized/rsqrt_int.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace liteq::runtime::quantized {
namespace {

constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();

// gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for exponent > 0: x * 2^exponent,
// saturated.
int32_t SaturatingShiftLeft(int32_t x, int exponent) {
  const int32_t threshold = (int32_t{1} << (31 - exponent)) - 1;
  if (x > threshold) return kInt32Max;
  if (x < -threshold) return kInt32Min;
  return quant::WrappingShiftLeft(x, exponent);
}

// gemmlowp FixedPoint multiplication: the raw product of Qa and Qb numbers.
int32_t Mul(int32_t a, int32_t b) { return quant::SaturatingRoundingDoublingHighMul(a, b); }

// int32 subtraction with wrap-around (gemmlowp's raw `a - b` on int32 lanes).
int32_t WrappingSub(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}

}  // namespace

quant::QuantizedMultiplier InvSqrtMultiplier(int32_t input) {
  LITEQ_CHECK(input >= 0);
  if (input <= 1) return {kInt32Max, 0};
  int shift = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    ++shift;
  }
  const int max_left_shift_bits = std::countl_zero(static_cast<uint32_t>(input)) - 1;
  const int left_shift_bit_pairs = max_left_shift_bits / 2 - 1;
  shift -= left_shift_bit_pairs;
  input <<= 2 * left_shift_bit_pairs;  // now in [2^27, 2^29)
  // Fixed point with 3 integer bits (raw 2^28 = 1.0): Newton-Raphson for 1/sqrt,
  // five iterations from x = 1.
  const int32_t f3_input = input >> 1;
  const int32_t f3_half_input = quant::RoundingDivideByPOT(f3_input, 1);
  const int32_t f3_half_three = (1 << 28) + (1 << 27);  // 1.5
  int32_t x = 1 << 28;
  for (int i = 0; i < 5; ++i) {
    // x^3 is a Q9 product; Rescale<3> shifts it back by 6 bits (saturating).
    const int32_t x3 = SaturatingShiftLeft(Mul(Mul(x, x), x), 6);
    // Q6 difference, rescaled to Q3 (3 bits, saturating).
    x = SaturatingShiftLeft(WrappingSub(Mul(f3_half_three, x), Mul(f3_half_input, x3)), 3);
  }
  constexpr int32_t kHalfSqrt2 = 1518500250;  // sqrt(2)/2 in Q0
  int32_t multiplier = Mul(x, kHalfSqrt2);
  if (shift < 0) {
    multiplier = quant::WrappingShiftLeft(multiplier, -shift);
    shift = 0;
  }
  return {multiplier, -shift};  // reverse_shift = -1: a left shift
}

Result<RsqrtInt8Table> PrepareRsqrtInt8(quant::QuantParams input, quant::QuantParams output) {
  LITEQ_RETURN_IF_ERROR(CheckScale(input.scale, "RSQRT input"));
  LITEQ_RETURN_IF_ERROR(CheckScale(output.scale, "RSQRT output"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(input.zero_point, -128, 127, "RSQRT input"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(output.zero_point, -128, 127, "RSQRT output"));
  constexpr int kShift = 20;  // TFLite: "Shift to keep value integer"
  // TFLite SetRsqrtOutputMultiplier: sqrt of the float scale, product in float.
  const double real = 1. / (std::sqrt(input.scale) * output.scale);
  LITEQ_ASSIGN_OR_RETURN(quant::QuantizedMultiplier m, PrepareMultiplier(real, 30, "RSQRT"));
  if (m.shift - kShift < -31) {
    return InvalidArgumentError("RSQRT: rescale factor " + std::to_string(real) +
                                " is too small for the integer kernel");
  }
  const quant::QuantizedMultiplier out_m{m.multiplier, m.shift - kShift};
  RsqrtInt8Table table;
  table.input_zero_point = input.zero_point;
  for (int32_t q = -128; q <= 127; ++q) {
    const int32_t value = q - input.zero_point;
    int8_t result = 0;  // invalid inputs (value < 0) are rejected at Eval
    if (value == 0) {
      result = 127;  // TFLite: a value near 0 maps to the largest output
    } else if (value > 0) {
      const quant::QuantizedMultiplier inv = InvSqrtMultiplier(value);
      const int32_t data =
          quant::MultiplyByQuantizedMultiplier(1, inv.multiplier, inv.shift + kShift);
      const int32_t out =
          quant::MultiplyByQuantizedMultiplier(data, out_m.multiplier, out_m.shift) +
          output.zero_point;
      result = static_cast<int8_t>(std::clamp(out, -128, 127));
    }
    table.values[static_cast<uint8_t>(static_cast<int8_t>(q))] = result;
  }
  return table;
}

}  // namespace liteq::runtime::quantized
