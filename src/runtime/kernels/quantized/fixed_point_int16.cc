#include "runtime/kernels/quantized/fixed_point_int16.h"

#include <algorithm>
#include <limits>

namespace liteq::runtime::quantized {
namespace {

// gemmlowp's int16 raw arithmetic: plain +, - and negation wrap to 16 bits (its
// scalar Add/Sub/Neg compute in int and convert back).
int16_t Wrap(int32_t v) { return static_cast<int16_t>(static_cast<uint16_t>(v)); }

// VQRDMULH on int16: (a * b + nudge) / 2^15, truncating, -1 * -1 saturated.
int16_t Mul(int16_t a, int16_t b) {
  if (a == b && a == std::numeric_limits<int16_t>::min()) return 32767;
  const int32_t ab = int32_t{a} * b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return static_cast<int16_t>((ab + nudge) / (1 << 15));
}

// Rounding arithmetic right shift (ties away from zero).
int32_t RoundingDivideByPot(int32_t x, int exponent) {
  const int32_t mask = (int32_t{1} << exponent) - 1;
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}
int16_t DivPot(int16_t x, int exponent) {
  return static_cast<int16_t>(RoundingDivideByPot(x, exponent));
}

// Saturating left shift (gemmlowp saturates beyond +-(2^(15-e) - 1)).
int16_t MulPot(int16_t x, int exponent) {
  const int32_t threshold = (1 << (15 - exponent)) - 1;
  if (x > threshold) return 32767;
  if (x < -threshold) return -32768;
  return static_cast<int16_t>(x * (1 << exponent));
}

int16_t SaturatingAdd(int16_t a, int16_t b) {
  return static_cast<int16_t>(std::clamp(int32_t{a} + b, int32_t{-32768}, int32_t{32767}));
}

// gemmlowp writes its constants as Q0.31 int32 and rounds them to 16 bits.
constexpr int16_t Constant(int32_t q31) {
  const int32_t mask = (1 << 16) - 1;
  const int32_t remainder = q31 & mask;
  const int32_t threshold = (mask >> 1) + (q31 < 0 ? 1 : 0);
  return static_cast<int16_t>((q31 >> 16) + (remainder > threshold ? 1 : 0));
}

constexpr int16_t kOneQ0 = 32767;  // 1 is not representable in Q0.15

// exp(a) for a in [-1/4, 0), Q0.15: Taylor series around -1/8.
int16_t ExpOnInterval(int16_t a) {
  const int16_t exp_minus_one_eighth = Constant(1895147668);
  const int16_t one_third = Constant(715827883);
  const int16_t x = Wrap(a + (1 << 12));  // a + 1/8
  const int16_t x2 = Mul(x, x);
  const int16_t x3 = Mul(x2, x);
  const int16_t x4 = Mul(x2, x2);
  const int16_t x4_over_4 = DivPot(x4, 2);
  const int16_t poly = DivPot(Wrap(Mul(Wrap(x4_over_4 + x3), one_third) + x2), 1);
  return SaturatingAdd(exp_minus_one_eighth, Mul(exp_minus_one_eighth, Wrap(x + poly)));
}

// exp(a) for a <= 0 given with `integer_bits` integer bits; Q0.15 result. The
// fractional part modulo 1/4 goes through the series, the rest through a product of
// exp(-2^k) constants selected by the bits of the remainder.
int16_t ExpOnNegativeValues(int16_t a, int integer_bits) {
  const int fractional_bits = 15 - integer_bits;
  const int16_t one_quarter = static_cast<int16_t>(1 << (fractional_bits - 2));
  const int16_t mask = static_cast<int16_t>(one_quarter - 1);
  const int16_t a_mod_quarter_minus_quarter = Wrap((a & mask) - one_quarter);
  int16_t result = ExpOnInterval(MulPot(a_mod_quarter_minus_quarter, integer_bits));
  const int16_t remainder = Wrap(a_mod_quarter_minus_quarter - a);
  struct Step {
    int exponent;
    int32_t multiplier_q31;  // exp(-2^exponent)
  };
  constexpr Step kSteps[] = {{-2, 1672461947}, {-1, 1302514674}, {0, 790015084}, {1, 290630308},
                             {2, 39332535},    {3, 720401},      {4, 242}};
  for (const Step& s : kSteps) {
    if (integer_bits <= s.exponent) continue;
    if ((remainder & (1 << (fractional_bits + s.exponent))) != 0) {
      result = Mul(result, Constant(s.multiplier_q31));
    }
  }
  return a == 0 ? kOneQ0 : result;
}

// Newton-Raphson on the half denominator (1 + a) / 2 in Q2.13, from 48/17 - 32/17 d.
int16_t ReciprocalOfHalfDenominator(int16_t half_denominator) {
  const int16_t one_q2 = 1 << 13;
  int16_t x = Wrap(Constant(1515870810) + Mul(half_denominator, Constant(-1010580540)));
  for (int i = 0; i < 3; ++i) {
    const int16_t one_minus = Wrap(one_q2 - Mul(half_denominator, x));
    x = Wrap(x + MulPot(Mul(x, one_minus), 2));
  }
  return x;  // 1 / half_denominator in Q2.13
}

int16_t RoundingHalfSum(int16_t a, int16_t b) {
  const int32_t sum = int32_t{a} + b;
  return static_cast<int16_t>((sum + (sum >= 0 ? 1 : -1)) / 2);
}

}  // namespace

int16_t SaturatingDoubleInt16(int16_t x) { return MulPot(x, 1); }

int16_t FixedPointLogisticQ3(int16_t x) {
  if (x == 0) return 16384;
  const int16_t magnitude = x > 0 ? x : Wrap(-x);
  // 1 / (1 + exp(-|x|)) = (1 / half_denominator) / 2.
  const int16_t e = ExpOnNegativeValues(Wrap(-magnitude), 3);
  const int16_t positive = MulPot(ReciprocalOfHalfDenominator(RoundingHalfSum(e, kOneQ0)), 1);
  return x > 0 ? positive : Wrap(kOneQ0 - positive);
}

int16_t FixedPointTanhQ3(int16_t x) {
  if (x == 0) return 0;
  const int16_t non_positive = x < 0 ? x : Wrap(-x);
  // exp(2 * non_positive): the same raw value read with 4 integer bits.
  const int16_t e = ExpOnNegativeValues(non_positive, 4);
  // (1 - e) / (1 + e) = 1 / half_denominator - 1.
  const int16_t reciprocal = ReciprocalOfHalfDenominator(RoundingHalfSum(e, kOneQ0));
  const int16_t t = MulPot(Wrap(reciprocal - (1 << 13)), 2);
  return x < 0 ? Wrap(-t) : t;
}

}  // namespace liteq::runtime::quantized
