#include "runtime/kernels/quantized/mean_int.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace liteq::runtime::quantized {
namespace {

TEST(MeanInt8Test, HandComputed) {
  const std::vector<int64_t> shape = {1, 4};
  const std::vector<int32_t> axes = {-1};
  auto p = PrepareMeanInt8({1.0f, 0}, shape, axes, {1.0f, 0});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  // 1/4 folded into the multiplier: 2^30 with shift 1 - 2 = -1.
  EXPECT_EQ(p->multiplier.multiplier, 1 << 30);
  EXPECT_EQ(p->multiplier.shift, -1);
  const std::vector<int8_t> x = {1, 2, 3, 4};
  std::vector<int8_t> y(1);
  MeanInt8(*p, x, y);
  EXPECT_EQ(y[0], 3);  // 2.5 rounds away from zero
  const std::vector<int32_t> bad = {2};
  EXPECT_FALSE(PrepareMeanInt8({1.0f, 0}, shape, bad, {1.0f, 0}).ok());
}

TEST(MeanInt8Test, MiddleAxisMatchesFloatWithinOneStep) {
  std::mt19937 rng(8);
  std::uniform_int_distribution<int> q(-128, 127);
  const std::vector<int64_t> shape = {2, 7, 3};
  const std::vector<int32_t> axes = {1};
  const quant::QuantParams in{0.07f, -9}, out{0.03f, 4};
  auto p = PrepareMeanInt8(in, shape, axes, out);
  ASSERT_TRUE(p.ok());
  std::vector<int8_t> x(42), y(6);
  for (auto& v : x) v = static_cast<int8_t>(q(rng));
  MeanInt8(*p, x, y);
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 3; ++k) {
      double sum = 0;
      for (int j = 0; j < 7; ++j) sum += in.scale * (x[(i * 7 + j) * 3 + k] - in.zero_point);
      const double expected = std::clamp(sum / 7 / out.scale + out.zero_point, -128.0, 127.0);
      EXPECT_NEAR(y[i * 3 + k], expected, 1.0);
    }
  }
}

}  // namespace
}  // namespace liteq::runtime::quantized
