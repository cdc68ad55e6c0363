#include "runtime/kernels/quantized/fully_connected_int.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "runtime/kernels/quantized/hybrid_fully_connected.h"

namespace liteq::runtime::quantized {
namespace {

using quant::QuantParams;

TEST(FullyConnectedInt8Test, HandComputedWithTiesAndActivation) {
  // input s=0.5 zp=1, weights s=0.25, output s=1 zp=-2: multiplier 0.125 exactly.
  const std::vector<float> wscale = {0.25f};
  auto p = PrepareFullyConnectedInt8({0.5f, 1}, wscale, {1.0f, -2}, FusedActivation::kNone);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->multipliers[0].multiplier, 1 << 30);
  EXPECT_EQ(p->multipliers[0].shift, -2);
  const std::vector<int8_t> x = {3, -1, 5};  // x - zp = {2, -2, 4}
  const std::vector<int8_t> w = {1, 2, 3, -4, 0, 1};
  const std::vector<int32_t> bias = {6, 0};
  std::vector<int8_t> out(2);
  FullyConnectedInt8(*p, {1, 3, 2}, x, w, bias, out);
  // Row 0: 2 - 4 + 12 + 6 = 16 -> 2 -> 0. Row 1: -8 + 0 + 4 = -4 -> -0.5 rounds
  // towards +infinity (the runtime's single rounding, ApplyMultiplier) to 0 -> -2.
  EXPECT_EQ(out, (std::vector<int8_t>{0, -2}));
  auto relu = PrepareFullyConnectedInt8({0.5f, 1}, wscale, {1.0f, -2}, FusedActivation::kRelu);
  ASSERT_TRUE(relu.ok());
  FullyConnectedInt8(*relu, {1, 3, 2}, x, w, bias, out);
  EXPECT_EQ(out, (std::vector<int8_t>{0, -2}));  // clamped at the image of 0
}

TEST(FullyConnectedInt8Test, RejectsBadParameters) {
  const std::vector<float> ok = {0.1f};
  const std::vector<float> bad = {0.0f};
  EXPECT_FALSE(PrepareFullyConnectedInt8({0.0f, 0}, ok, {1.0f, 0}, FusedActivation::kNone).ok());
  EXPECT_FALSE(PrepareFullyConnectedInt8({1.0f, 0}, bad, {1.0f, 0}, FusedActivation::kNone).ok());
  EXPECT_FALSE(PrepareFullyConnectedInt8({1.0f, 200}, ok, {1.0f, 0}, FusedActivation::kNone).ok());
  EXPECT_FALSE(PrepareFullyConnectedInt8({1e10f, 0}, ok, {1e-10f, 0}, FusedActivation::kNone).ok());
  EXPECT_FALSE(PrepareFullyConnected16x8({1.0f, 1}, ok, {1.0f, 0}, FusedActivation::kNone).ok());
}

// The arithmetic TFLite specifies, modelled with exact long double operations:
// acc * m * 2^left / 2^31 rounded half up, then / 2^right rounded half away.
int32_t ModelRequantize(int64_t acc, int32_t m, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const long double high =
      std::floor(static_cast<long double>(acc) * std::ldexp(1.0L, left) * m / 2147483648.0L + 0.5L);
  return static_cast<int32_t>(std::round(high / std::ldexp(1.0L, right)));
}

TEST(FullyConnectedInt8Test, BitExactAgainstModelOnRandomPerChannelProblems) {
  std::mt19937 rng(123);
  std::uniform_int_distribution<int> q(-128, 127);
  std::uniform_int_distribution<int> wq(-127, 127);
  std::uniform_real_distribution<float> log_scale(-9.0f, -2.0f);
  for (int trial = 0; trial < 40; ++trial) {
    const FullyConnectedShape shape{3, 17 + trial, 5};
    const QuantParams in{std::exp2(log_scale(rng)), q(rng)};
    const QuantParams outp{std::exp2(log_scale(rng) + 3.0f), q(rng)};
    std::vector<float> wscales(static_cast<size_t>(shape.out_channels));
    for (float& s : wscales) s = std::exp2(log_scale(rng));
    auto p = PrepareFullyConnectedInt8(in, wscales, outp, FusedActivation::kNone);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    std::vector<int8_t> x(static_cast<size_t>(shape.batches * shape.depth));
    std::vector<int8_t> w(static_cast<size_t>(shape.out_channels * shape.depth));
    std::vector<int32_t> bias(static_cast<size_t>(shape.out_channels));
    for (auto& v : x) v = static_cast<int8_t>(q(rng));
    for (auto& v : w) v = static_cast<int8_t>(wq(rng));
    for (auto& v : bias) v = q(rng) * 50;
    std::vector<int8_t> out(static_cast<size_t>(shape.batches * shape.out_channels));
    FullyConnectedInt8(*p, shape, x, w, bias, out);
    for (int64_t b = 0; b < shape.batches; ++b) {
      for (int64_t c = 0; c < shape.out_channels; ++c) {
        int64_t acc = bias[static_cast<size_t>(c)];
        for (int64_t d = 0; d < shape.depth; ++d) {
          acc += (x[static_cast<size_t>(b * shape.depth + d)] - in.zero_point) *
                 w[static_cast<size_t>(c * shape.depth + d)];
        }
        const auto& m = p->multipliers[static_cast<size_t>(c)];
        const int32_t expected =
            std::clamp(ModelRequantize(acc, m.multiplier, m.shift) + outp.zero_point, -128, 127);
        ASSERT_EQ(out[static_cast<size_t>(b * shape.out_channels + c)], expected);
        // And the integer result is the rounded real result (within one step).
        const double real =
            static_cast<double>(acc) * in.scale * wscales[static_cast<size_t>(c)] / outp.scale +
            outp.zero_point;
        if (real > -127 && real < 126) {
          EXPECT_NEAR(expected, real, 1.0);
        }
      }
    }
  }
}

TEST(FullyConnected16x8Test, HandComputed) {
  const std::vector<float> wscale = {0.01f};
  auto p = PrepareFullyConnected16x8({0.001f, 0}, wscale, {0.002f, 0}, FusedActivation::kNone);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const std::vector<int16_t> x = {1000, -2000};
  const std::vector<int8_t> w = {3, 4};
  const std::vector<int64_t> bias = {100000};
  std::vector<int16_t> out(1);
  FullyConnected16x8(*p, {1, 2, 1}, x, w, bias, out);
  EXPECT_EQ(out[0], 475);                                // (3000 - 8000 + 100000) * 0.005
  const std::vector<int64_t> huge = {int64_t{1} << 30};  // 5.4e6 after scaling
  FullyConnected16x8(*p, {1, 2, 1}, x, w, huge, out);
  EXPECT_EQ(out[0], 32767);
}

TEST(HybridFullyConnectedTest, SymmetricRowQuantization) {
  const std::vector<float> wscales = {0.1f, 0.2f};
  auto p = PrepareHybridFullyConnected(wscales, false, FusedActivation::kNone);
  ASSERT_TRUE(p.ok());
  const std::vector<float> x = {1.0f, -0.5f, 0.25f, 0.0f};
  const std::vector<int8_t> w = {10, 20, -30, 5, 1, 1, 1, 1};
  const std::vector<float> bias = {0.5f, 0.0f};
  std::vector<float> out(2);
  std::vector<int8_t> scratch(4);
  HybridFullyConnected(*p, {1, 4, 2}, x, w, bias, out, scratch);
  // q = {127, -64, 32, 0} (-63.5 rounds away from zero), sf = 1/127.
  EXPECT_EQ(scratch, (std::vector<int8_t>{127, -64, 32, 0}));
  EXPECT_FLOAT_EQ(out[0], 0.5f + -970.0f * ((1.0f / 127.0f) * 0.1f));
  EXPECT_FLOAT_EQ(out[1], 95.0f * ((1.0f / 127.0f) * 0.2f));
  // Against the float result: each input is off by at most half a step (0.5 / 127),
  // so a row is off by at most sum|w| * 0.5 / 127.
  EXPECT_NEAR(out[0], -0.25f, 0.1f * 65 * 0.5f / 127);
  EXPECT_NEAR(out[1], 0.15f, 0.2f * 4 * 0.5f / 127);
}

TEST(HybridFullyConnectedTest, AsymmetricRowQuantization) {
  const std::vector<float> wscales = {0.5f};
  auto p = PrepareHybridFullyConnected(wscales, true, FusedActivation::kRelu);
  ASSERT_TRUE(p.ok());
  const std::vector<float> x = {1.0f, 3.0f};
  std::vector<int8_t> scratch(2);
  const QuantParams row = QuantizeHybridRow(x, true, scratch);
  EXPECT_EQ(row.zero_point, -128);
  EXPECT_EQ(scratch, (std::vector<int8_t>{-43, 127}));
  const std::vector<int8_t> w = {2, -1, -2, 1};
  std::vector<float> out(2);
  HybridFullyConnected(*p, {1, 2, 2}, x, w, {}, out, scratch);
  // Row 0: 2*(-43 + 128) - (127 + 128) = -85 -> -85 * (3/255) * 0.5 = -0.5, relu -> 0.
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], 0.5f, 1e-6f);
  // An all-zero row quantizes to zeros with scale 1.
  const std::vector<float> zeros = {0.0f, 0.0f};
  EXPECT_EQ(QuantizeHybridRow(zeros, true, scratch).scale, 1.0f);
}

TEST(Int4WeightsTest, UnpacksLowNibbleFirstAndDequantizesBlockwise) {
  // 1 row, 4 columns, block size 2: values {1, -2, 7, -8}, scales {0.5, 0.25}.
  const std::vector<uint8_t> packed = {0xE1, 0x87};
  const std::vector<float> scales = {0.5f, 0.25f};
  auto w = DequantizeInt4Weights(packed, scales, 1, 4, 2);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<float>{0.5f, -1.0f, 1.75f, -2.0f}));
  EXPECT_FALSE(DequantizeInt4Weights(packed, scales, 1, 4, 3).ok());
  EXPECT_FALSE(
      DequantizeInt4Weights(std::span<const uint8_t>(packed).first(1), scales, 1, 4, 2).ok());
}

}  // namespace
}  // namespace liteq::runtime::quantized
