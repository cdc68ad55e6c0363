#include "quant/fixed_point.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

namespace liteq::quant {
namespace {

constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

TEST(QuantizeMultiplierTest, HandComputed) {
  EXPECT_EQ(QuantizeMultiplier(0.0).multiplier, 0);
  auto half = QuantizeMultiplier(0.5);
  EXPECT_EQ(half.multiplier, 1 << 30);
  EXPECT_EQ(half.shift, 0);
  auto one = QuantizeMultiplier(1.0);  // frexp(1) = 0.5 * 2^1
  EXPECT_EQ(one.multiplier, 1 << 30);
  EXPECT_EQ(one.shift, 1);
  auto three_quarters = QuantizeMultiplier(0.75);
  EXPECT_EQ(three_quarters.multiplier, 1610612736);
  EXPECT_EQ(three_quarters.shift, 0);
  auto big = QuantizeMultiplier(5.0);  // 0.625 * 2^3
  EXPECT_EQ(big.multiplier, 1342177280);
  EXPECT_EQ(big.shift, 3);
  auto negative = QuantizeMultiplier(-0.5);
  EXPECT_EQ(negative.multiplier, -(1 << 30));
  EXPECT_EQ(negative.shift, 0);
}

TEST(QuantizeMultiplierTest, RenormalisesWhenRoundingReachesTwoToThe31) {
  // Mantissa 1 - 2^-40 rounds to exactly 2^31 in Q31.
  auto q = QuantizeMultiplier(1.0 - std::ldexp(1.0, -40));
  EXPECT_EQ(q.multiplier, 1 << 30);
  EXPECT_EQ(q.shift, 1);
}

TEST(QuantizeMultiplierTest, FlushesTinyMultipliersToZero) {
  auto kept = QuantizeMultiplier(std::ldexp(1.0, -32));  // 0.5 * 2^-31
  EXPECT_EQ(kept.multiplier, 1 << 30);
  EXPECT_EQ(kept.shift, -31);
  auto flushed = QuantizeMultiplier(std::ldexp(1.0, -33));  // shift would be -32
  EXPECT_EQ(flushed.multiplier, 0);
  EXPECT_EQ(flushed.shift, 0);
}

TEST(SaturatingRoundingDoublingHighMulTest, HandComputed) {
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMin), kMax);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMax), -kMax);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(1 << 30, 1 << 30), 1 << 29);
  // Ties (x.5) round towards +infinity.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(1, 1 << 30), 1);    // 0.5
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-1, 1 << 30), 0);   // -0.5
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(3, 1 << 30), 2);    // 1.5
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-3, 1 << 30), -1);  // -1.5
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-5, 1 << 29), -1);  // -1.25
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-7, 1 << 29), -2);  // -1.75
}

TEST(RoundingDivideByPOTTest, RoundsHalfAwayFromZero) {
  EXPECT_EQ(RoundingDivideByPOT(5, 1), 3);
  EXPECT_EQ(RoundingDivideByPOT(-5, 1), -3);
  EXPECT_EQ(RoundingDivideByPOT(4, 1), 2);
  EXPECT_EQ(RoundingDivideByPOT(-4, 1), -2);
  EXPECT_EQ(RoundingDivideByPOT(7, 2), 2);
  EXPECT_EQ(RoundingDivideByPOT(-7, 2), -2);
  EXPECT_EQ(RoundingDivideByPOT(6, 2), 2);
  EXPECT_EQ(RoundingDivideByPOT(-6, 2), -2);
  EXPECT_EQ(RoundingDivideByPOT(-5, 2), -1);
  EXPECT_EQ(RoundingDivideByPOT(123, 0), 123);
  EXPECT_EQ(RoundingDivideByPOT(kMin, 31), -1);
  EXPECT_EQ(RoundingDivideByPOT(kMax, 31), 1);
}

TEST(MultiplyByQuantizedMultiplierTest, HandComputed) {
  EXPECT_EQ(MultiplyByQuantizedMultiplier(100, 1 << 30, 0), 50);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(100, 1 << 30, 1), 100);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(100, 1 << 30, 3), 400);
  // Double rounding: SRDHM(-3, 0.5) = -1 (tie up), then -1/2 rounds away to -1.
  EXPECT_EQ(MultiplyByQuantizedMultiplier(-3, 1 << 30, -1), -1);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(3, 1 << 30, -1), 1);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(5, 1 << 30, -2), 1);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(kMin, kMin, 0), kMax);
  EXPECT_EQ(MultiplyByQuantizedMultiplierSmallerThanOneExp(-7, 1 << 30, -1), -2);
}

TEST(MultiplyByQuantizedMultiplierTest, Int64VariantHandComputed) {
  // reduced multiplier of 2^30 is 2^14; total shift 15 - shift.
  EXPECT_EQ(MultiplyByQuantizedMultiplier(int64_t{1} << 40, 1 << 30, -10), 1 << 29);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(int64_t{-3}, 1 << 30, 0), -1);  // -1.5
  EXPECT_EQ(MultiplyByQuantizedMultiplier(int64_t{3}, 1 << 30, 0), 2);    // 1.5
  // Multipliers >= 0x7FFF0000 cap at 0x7FFF instead of overflowing to 0x8000.
  EXPECT_EQ(MultiplyByQuantizedMultiplier(int64_t{1} << 20, 0x7FFFFFFF, 0),
            static_cast<int32_t>(((int64_t{1} << 20) * 0x7FFF + (1 << 14)) >> 15));
}

// The rounding definition, written differently: exact rational arithmetic in long
// double (64-bit mantissa holds the 62-bit products exactly on x86-64).
int32_t ModelMultiply(int32_t x, int32_t m, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const int64_t xl = static_cast<int64_t>(x) * (int64_t{1} << left);
  const long double prod = static_cast<long double>(xl) * m;
  const int64_t high = (xl == kMin && m == kMin)  // the one saturating product
                           ? kMax
                           : static_cast<int64_t>(std::floor(prod / 2147483648.0L + 0.5L));
  const long double scaled = static_cast<long double>(high) / std::ldexp(1.0L, right);
  return static_cast<int32_t>(std::round(scaled));  // half away from zero
}

TEST(MultiplyByQuantizedMultiplierTest, MatchesExactModelOnRandomInputs) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int32_t> any(kMin, kMax);
  std::uniform_int_distribution<int> shifts(-31, 8);
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    const int shift = shifts(rng);
    int32_t x = any(rng);
    if (shift > 0) x >>= shift;                          // keep x << shift inside int32 (no wrap)
    if (i % 7 == 0) x = static_cast<int32_t>(x % 4096);  // small values: many ties
    const QuantizedMultiplier q =
        QuantizeMultiplier(std::ldexp(0.5 + (any(rng) & 0xFFFFFF) / 33554432.0, 0));
    const int32_t m = i % 11 == 0 ? (1 << 30) : q.multiplier;
    ASSERT_EQ(MultiplyByQuantizedMultiplier(x, m, shift), ModelMultiply(x, m, shift))
        << "x=" << x << " m=" << m << " shift=" << shift;
    ++checked;
  }
  EXPECT_EQ(checked, 200000);
}

TEST(MultiplyByQuantizedMultiplierTest, Int64VariantMatchesModel) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> xs(-(int64_t{1} << 47), (int64_t{1} << 47) - 1);
  std::uniform_int_distribution<int32_t> ms(1 << 30, kMax);
  std::uniform_int_distribution<int> shifts(-31, 7);
  for (int i = 0; i < 100000; ++i) {
    int shift = shifts(rng);
    int64_t x = xs(rng);
    // Keep the result inside int32 (TFLite's stated domain).
    x >>= std::max(0, shift + 17);
    const int32_t m = ms(rng);
    const int64_t reduced = m < 0x7FFF0000 ? (m + (1 << 15)) / 65536 : 0x7FFF;
    const long double exact = static_cast<long double>(x) * reduced / std::ldexp(1.0L, 15 - shift);
    const auto expected = static_cast<int64_t>(std::floor(exact + 0.5L));
    ASSERT_EQ(MultiplyByQuantizedMultiplier(x, m, shift), expected)
        << "x=" << x << " m=" << m << " shift=" << shift;
  }
}

}  // namespace
}  // namespace liteq::quant
