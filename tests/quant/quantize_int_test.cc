#include "runtime/kernels/quantized/quantize_int.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace liteq::runtime::quantized {
namespace {

TEST(QuantizeTest, FloatToInt8AndInt16) {
  const std::vector<float> x = {0.25f, -0.25f, 0.75f, 100.0f, -100.0f};
  std::vector<int8_t> q8(5);
  QuantizeFloatToInt8(x, {0.5f, -3}, q8);
  EXPECT_EQ(q8, (std::vector<int8_t>{-2, -4, -1, 127, -128}));  // ties away from zero
  std::vector<int16_t> q16(5);
  QuantizeFloatToInt16(x, {1.0f / 256, 0}, q16);
  EXPECT_EQ(q16, (std::vector<int16_t>{64, -64, 192, 25600, -25600}));
}

TEST(QuantizeTest, RequantizeInt8ToInt8) {
  auto p = PrepareRequantize(IntType::kInt8, {0.5f, 0}, IntType::kInt8, {0.25f, 3});
  ASSERT_TRUE(p.ok());
  const std::vector<int8_t> in = {5, -100, 100, 0};
  std::vector<int8_t> out(4);
  Requantize(*p, in, out);
  EXPECT_EQ(out, (std::vector<int8_t>{13, -128, 127, 3}));
  // Scale ratio 1/3: one rounding of the exact product (ApplyMultiplier), so every
  // result is x / 3 rounded to the nearest integer (no ties for thirds).
  auto third = PrepareRequantize(IntType::kInt8, {1.0f, 0}, IntType::kInt8, {3.0f, 0});
  ASSERT_TRUE(third.ok());
  std::vector<int8_t> all(256), r(256);
  for (int i = 0; i < 256; ++i) all[static_cast<size_t>(i)] = static_cast<int8_t>(i - 128);
  Requantize(*third, all, r);
  for (int i = 0; i < 256; ++i) {
    const int x = i - 128;
    EXPECT_EQ(r[static_cast<size_t>(i)], static_cast<int>(std::lround(x / 3.0))) << x;
  }
  EXPECT_EQ(r[129], 0);  // x = 1: 0.333 -> 0 (double rounding gave 1)
  EXPECT_EQ(r[127], 0);  // x = -1
}

TEST(QuantizeTest, RequantizeBetweenWidths) {
  auto up = PrepareRequantize(IntType::kInt8, {0.5f, 10}, IntType::kInt16, {1.0f / 64, 0});
  ASSERT_TRUE(up.ok());
  const std::vector<int8_t> in = {11, 9};
  std::vector<int16_t> out(2);
  Requantize(*up, in, out);
  EXPECT_EQ(out, (std::vector<int16_t>{32, -32}));
  EXPECT_FALSE(PrepareRequantize(IntType::kInt8, {0.5f, 300}, IntType::kInt8, {1.0f, 0}).ok());
}

TEST(DequantizeTest, PerTensorAndPerChannel) {
  const std::vector<int8_t> q = {-128, 0, 127, 5};
  std::vector<float> f(4);
  DequantizeInt8(q, {0.5f, -1}, f);
  EXPECT_EQ(f, (std::vector<float>{-63.5f, 0.5f, 64.0f, 3.0f}));
  // [2, 2] tensor quantized along axis 1 (columns) and axis 0 (rows).
  const std::vector<int64_t> shape = {2, 2};
  const std::vector<float> scales = {0.5f, 2.0f};
  ASSERT_TRUE(DequantizeInt8PerChannel(q, shape, 1, scales, {}, f).ok());
  EXPECT_EQ(f, (std::vector<float>{-64.0f, 0.0f, 63.5f, 10.0f}));
  ASSERT_TRUE(DequantizeInt8PerChannel(q, shape, 0, scales, {}, f).ok());
  EXPECT_EQ(f, (std::vector<float>{-64.0f, 0.0f, 254.0f, 10.0f}));
  EXPECT_FALSE(DequantizeInt8PerChannel(q, shape, 2, scales, {}, f).ok());
  const std::vector<int16_t> q16 = {-32768, 32767};
  std::vector<float> f16(2);
  DequantizeInt16(q16, {1.0f / 32768, 0}, f16);
  EXPECT_EQ(f16[0], -1.0f);
}

}  // namespace
}  // namespace liteq::runtime::quantized
