#include "quant/fixed_point.h"

#include <cmath>
#include <limits>

#include "liteq/status.h"

namespace liteq::quant {

QuantizedMultiplier QuantizeMultiplier(double real) {
  LITEQ_CHECK(std::isfinite(real));
  if (real == 0.0) return {};
  int shift = 0;
  const double mantissa = std::frexp(real, &shift);  // |mantissa| in [0.5, 1)
  auto q = static_cast<int64_t>(std::round(mantissa * static_cast<double>(1LL << 31)));
  LITEQ_CHECK(q <= (1LL << 31));
  if (q == (1LL << 31)) {  // rounding carried into bit 31: renormalise
    q /= 2;
    ++shift;
  }
  // Shifting right by more than 31 would discard every bit; TFLite flushes to zero.
  if (shift < -31) return {};
  return {static_cast<int32_t>(q), shift};
}

int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  if (a == kMin && b == kMin) return std::numeric_limits<int32_t>::max();
  const int64_t product = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = product >= 0 ? (1LL << 30) : (1 - (1LL << 30));
  // C++ division truncates towards zero, exactly as gemmlowp relies on.
  return static_cast<int32_t>((product + nudge) / (1LL << 31));
}

int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  LITEQ_CHECK(exponent >= 0 && exponent <= 31);
  const auto mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t WrappingShiftLeft(int32_t x, int shift) {
  LITEQ_CHECK(shift >= 0 && shift <= 31);
  // Unsigned shift then modular conversion back (well defined since C++20).
  return static_cast<int32_t>(static_cast<uint32_t>(x) << shift);
}

int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int shift) {
  LITEQ_CHECK(shift >= -31 && shift <= 30);
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  return RoundingDivideByPOT(
      SaturatingRoundingDoublingHighMul(WrappingShiftLeft(x, left_shift), multiplier), right_shift);
}

int32_t MultiplyByQuantizedMultiplier(int64_t x, int32_t multiplier, int shift) {
  LITEQ_CHECK(multiplier >= 0);
  LITEQ_CHECK(shift >= -31 && shift < 8);
  const int32_t reduced = multiplier < 0x7FFF0000 ? ((multiplier + (1 << 15)) >> 16) : 0x7FFF;
  const int total_shift = 15 - shift;  // in [8, 46]
  // Two's complement wrap via uint64 keeps out-of-domain inputs defined.
  const uint64_t sum = static_cast<uint64_t>(x) * static_cast<uint64_t>(reduced) +
                       (uint64_t{1} << (total_shift - 1));
  return static_cast<int32_t>(static_cast<int64_t>(sum) >> total_shift);
}

int32_t MultiplyByQuantizedMultiplierSmallerThanOneExp(int32_t x, int32_t multiplier,
                                                       int left_shift) {
  LITEQ_CHECK(left_shift <= 0);
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, multiplier), -left_shift);
}

}  // namespace liteq::quant
