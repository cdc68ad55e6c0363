#include "quant/quant_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace liteq::quant {
namespace {

TEST(ChooseParamsTest, SymmetricRangeNudgesZeroPointAwayFromZero) {
  auto p = ChooseInt8ActivationParams(-1.0f, 1.0f);
  ASSERT_TRUE(p.ok());
  EXPECT_FLOAT_EQ(p->scale, 2.0f / 255.0f);
  // zero point from max: 127 - 127.5 = -0.5, rounded half away from zero.
  EXPECT_EQ(p->zero_point, -1);
  EXPECT_EQ(DequantizeValue(p->zero_point, *p), 0.0f);
}

TEST(ChooseParamsTest, RangeIsWidenedToIncludeZero) {
  auto positive = ChooseInt8ActivationParams(2.0f, 5.0f);
  ASSERT_TRUE(positive.ok());
  EXPECT_FLOAT_EQ(positive->scale, 5.0f / 255.0f);
  EXPECT_EQ(positive->zero_point, -128);
  auto negative = ChooseInt8ActivationParams(-5.0f, -1.0f);
  ASSERT_TRUE(negative.ok());
  EXPECT_EQ(negative->zero_point, 127);
  auto skewed = ChooseInt8ActivationParams(-1.0f, 3.0f);  // zp = -128 + 63.75
  ASSERT_TRUE(skewed.ok());
  EXPECT_EQ(skewed->zero_point, -64);
}

TEST(ChooseParamsTest, DegenerateAndInvalidRanges) {
  auto zero = ChooseInt8ActivationParams(0.0f, 0.0f);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->scale, 1.0f);
  EXPECT_EQ(zero->zero_point, 0);
  EXPECT_FALSE(ChooseInt8ActivationParams(NAN, 1.0f).ok());
  EXPECT_FALSE(ChooseInt8ActivationParams(0.0f, INFINITY).ok());
  EXPECT_FALSE(ChooseInt8ActivationParams(2.0f, 1.0f).ok());
}

TEST(ChooseParamsTest, Int16IsSymmetric) {
  auto p = ChooseInt16ActivationParams(-3.0f, 1.5f);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->zero_point, 0);
  EXPECT_FLOAT_EQ(p->scale, 3.0f / 32767.0f);
}

TEST(WeightsTest, PerChannelInt8HandComputed) {
  // Row 0 abs max 63.5 -> scale 0.5; row 1 all zero -> scale 1.
  const std::vector<float> w = {63.5f, -1.25f, 0.25f, 0.0f, 0.0f, 0.0f};
  auto q = QuantizeWeightsPerChannel(w, 2, 3, 8);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->scales, (std::vector<float>{0.5f, 1.0f}));
  EXPECT_EQ(q->values, (std::vector<int8_t>{127, -3, 1, 0, 0, 0}));
}

TEST(WeightsTest, NeverUsesMinus128) {
  const std::vector<float> w = {-2.0f, 1.0f, 2.0f};
  auto q = QuantizeWeightsPerTensor(w, 8);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->values, (std::vector<int8_t>{-127, 64, 127}));  // 63.5 -> 64
}

TEST(WeightsTest, Int4PerChannelAndErrors) {
  const std::vector<float> w = {7.0f, -3.5f, 1.75f, 0.1f};
  auto q = QuantizeWeightsPerChannel(w, 1, 4, 4);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->values, (std::vector<int8_t>{7, -4, 2, 0}));
  EXPECT_FALSE(QuantizeWeightsPerChannel(w, 1, 4, 5).ok());
  EXPECT_FALSE(QuantizeWeightsPerChannel(w, 2, 3, 8).ok());
}

TEST(WeightsTest, BlockwiseInt4RoundTripsWithinHalfAStep) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t block : {32, 64, 128}) {
    const int64_t rows = 3, cols = 256;
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (float& v : w) v = dist(rng);
    auto q = QuantizeWeightsBlockwise(w, rows, cols, block, 4);
    ASSERT_TRUE(q.ok());
    ASSERT_EQ(q->scales.size(), static_cast<size_t>(rows * cols / block));
    const std::vector<float> back = DequantizeBlockwise(q->values, q->scales, rows, cols, block);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const size_t i = static_cast<size_t>(r * cols + c);
        const float scale = q->scales[static_cast<size_t>(r * (cols / block) + c / block)];
        EXPECT_LE(std::abs(back[i] - w[i]), scale * 0.5f + 1e-6f);
        EXPECT_LE(std::abs(q->values[i]), 7);
      }
    }
  }
  std::vector<float> w(100, 1.0f);
  EXPECT_FALSE(QuantizeWeightsBlockwise(w, 1, 100, 32, 4).ok());
}

TEST(BiasTest, PerChannelInt32AndSaturation) {
  const std::vector<float> bias = {1.0f, -0.3f};
  const std::vector<float> wscales = {0.25f, 0.1f};
  auto q = QuantizeBiasInt32(bias, 0.5f, wscales);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, (std::vector<int32_t>{8, -6}));
  const std::vector<float> huge = {1e10f, -1e10f};
  auto s = QuantizeBiasInt32(huge, 1e-3f, std::vector<float>{1e-3f});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)[0], std::numeric_limits<int32_t>::max());
  EXPECT_EQ((*s)[1], -std::numeric_limits<int32_t>::max());
  auto wide = QuantizeBiasInt64(huge, 1e-3f, std::vector<float>{1e-3f});
  ASSERT_TRUE(wide.ok());
  EXPECT_NEAR(static_cast<double>((*wide)[0]), 1e16, 1e10);
  EXPECT_FALSE(QuantizeBiasInt32(bias, 0.5f, std::vector<float>{1, 2, 3}).ok());
}

TEST(QuantizeValueTest, RoundsHalfAwayFromZeroAndClamps) {
  const QuantParams p{0.5f, 3};
  EXPECT_EQ(QuantizeValue(0.25f, p, -128, 127), 4);   // 0.5 -> 1
  EXPECT_EQ(QuantizeValue(-0.25f, p, -128, 127), 2);  // -0.5 -> -1
  EXPECT_EQ(QuantizeValue(1000.0f, p, -128, 127), 127);
  EXPECT_EQ(QuantizeValue(-1000.0f, p, -128, 127), -128);
  EXPECT_EQ(QuantizeValue(INFINITY, p, -128, 127), 127);
  EXPECT_EQ(QuantizeValue(-INFINITY, p, -128, 127), -128);
  EXPECT_EQ(QuantizeValue(NAN, p, -128, 127), 3);
  EXPECT_EQ(QuantizeValue(3e38f, {1e-30f, 0}, -128, 127), 127);
  EXPECT_FLOAT_EQ(DequantizeValue(-128, p), -65.5f);
}

TEST(Int4Test, PacksLowNibbleFirst) {
  const std::vector<int8_t> v = {1, -1, -8, 7, 5};
  const std::vector<uint8_t> packed = PackInt4(v);
  EXPECT_EQ(packed, (std::vector<uint8_t>{0xF1, 0x78, 0x05}));
  auto back = UnpackInt4(packed, 5);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, v);
  EXPECT_FALSE(UnpackInt4(packed, 7).ok());
}

}  // namespace
}  // namespace liteq::quant
