#include "runtime/kernels/quantized/elementwise_int.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace liteq::runtime::quantized {
namespace {

using quant::QuantParams;

BroadcastPlan Plan(std::vector<int64_t> a, std::vector<int64_t> b) {
  auto p = MakeBroadcastPlan(a, b);
  EXPECT_TRUE(p.ok());
  return *p;
}

TEST(BroadcastTest, ShapesAndErrors) {
  const BroadcastPlan p = Plan({2, 1, 3}, {4, 1});
  EXPECT_EQ(p.output_shape, (std::vector<int64_t>{2, 4, 3}));
  std::vector<std::pair<int64_t, int64_t>> visits;
  ForEachBroadcastIndex(p, [&](int64_t a, int64_t b, int64_t) { visits.push_back({a, b}); });
  ASSERT_EQ(visits.size(), 24u);
  EXPECT_EQ(visits[4], (std::pair<int64_t, int64_t>{1, 1}));   // [0][1][1]
  EXPECT_EQ(visits[23], (std::pair<int64_t, int64_t>{5, 3}));  // [1][3][2]
  EXPECT_FALSE(MakeBroadcastPlan(std::vector<int64_t>{2, 3}, std::vector<int64_t>{4}).ok());
}

TEST(AddInt8Test, HandComputed) {
  auto p = PrepareAddSub(IntType::kInt8, {0.5f, 0}, {0.25f, 10}, {0.5f, -5}, FusedActivation::kNone,
                         false);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->left_shift, 20);
  EXPECT_EQ(p->input1.multiplier, 1 << 30);
  EXPECT_EQ(p->input1.shift, 0);
  EXPECT_EQ(p->input2.shift, -1);
  EXPECT_EQ(p->output.shift, -18);  // 1 / (2^20 * 0.5) = 2^-19
  const std::vector<int8_t> a = {4, -128};
  const std::vector<int8_t> b = {14, 127};
  std::vector<int8_t> out(2);
  AddSubInt8(*p, Plan({2}, {2}), a, b, out);
  // 2.0 + 1.0 = 3.0 -> 6 - 5 = 1;  -64 + 29.25 = -34.75 -> -69.5 -> -69 - 5 = -74
  // (ties round towards +infinity, as the official runtime does).
  EXPECT_EQ(out, (std::vector<int8_t>{1, -74}));
}

TEST(SubInt8Test, HandComputedWithBroadcast) {
  auto p =
      PrepareAddSub(IntType::kInt8, {0.5f, 0}, {0.5f, 0}, {0.5f, 0}, FusedActivation::kNone, true);
  ASSERT_TRUE(p.ok());
  const std::vector<int8_t> a = {10, 20, 30, 40};
  const std::vector<int8_t> b = {1, 2};
  std::vector<int8_t> out(4);
  AddSubInt8(*p, Plan({2, 2}, {2}), a, b, out);
  EXPECT_EQ(out, (std::vector<int8_t>{9, 18, 29, 38}));
}

// Every int8 ADD/SUB/MUL result is the float result rounded, within one step.
TEST(ElementwiseInt8Test, MatchesFloatWithinOneStep) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> q(-128, 127);
  std::uniform_real_distribution<float> s(0.01f, 0.2f);
  for (int trial = 0; trial < 30; ++trial) {
    const QuantParams in1{s(rng), q(rng) / 2}, in2{s(rng), q(rng) / 2};
    const QuantParams out{s(rng) * 4, q(rng) / 2};
    const BroadcastPlan plan = Plan({3, 4}, {4});
    std::vector<int8_t> a(12), b(4), y(12);
    for (auto& v : a) v = static_cast<int8_t>(q(rng));
    for (auto& v : b) v = static_cast<int8_t>(q(rng));
    for (int op = 0; op < 3; ++op) {
      if (op < 2) {
        auto p = PrepareAddSub(IntType::kInt8, in1, in2, out, FusedActivation::kNone, op == 1);
        ASSERT_TRUE(p.ok());
        AddSubInt8(*p, plan, a, b, y);
      } else {
        auto p = PrepareMul(IntType::kInt8, in1, in2, out, FusedActivation::kNone);
        ASSERT_TRUE(p.ok());
        MulInt8(*p, plan, a, b, y);
      }
      for (size_t i = 0; i < 12; ++i) {
        const double x1 = in1.scale * (a[i] - in1.zero_point);
        const double x2 = in2.scale * (b[i % 4] - in2.zero_point);
        const double r = op == 0 ? x1 + x2 : op == 1 ? x1 - x2 : x1 * x2;
        const double expected = std::clamp(r / out.scale + out.zero_point, -128.0, 127.0);
        EXPECT_NEAR(y[i], expected, 1.0) << "op " << op << " element " << i;
      }
    }
  }
}

TEST(MulInt8Test, HandComputed) {
  auto p = PrepareMul(IntType::kInt8, {0.5f, 1}, {0.1f, 0}, {0.2f, 0}, FusedActivation::kRelu6);
  ASSERT_TRUE(p.ok());
  const std::vector<int8_t> a = {5, 120};
  const std::vector<int8_t> b = {30, 30};
  std::vector<int8_t> out(2);
  MulInt8(*p, Plan({2}, {2}), a, b, out);
  EXPECT_EQ(out[0], 30);  // 2.0 * 3.0 = 6.0 / 0.2
  EXPECT_EQ(out[1], 30);  // 178.5 clamped by RELU6 at 6.0
}

TEST(ElementwiseInt16Test, HandComputedAndZeroPointCheck) {
  auto mul = PrepareMul(IntType::kInt16, {1.0f / 1024, 0}, {1.0f / 1024, 0}, {1.0f / 512, 0},
                        FusedActivation::kNone);
  ASSERT_TRUE(mul.ok());
  const std::vector<int16_t> a = {1024, 32767};
  const std::vector<int16_t> b = {-2048, 32767};
  std::vector<int16_t> out(2);
  MulInt16(*mul, Plan({2}, {2}), a, b, out);
  EXPECT_EQ(out[0], -1024);  // 1.0 * -2.0 = -2.0
  EXPECT_EQ(out[1], 32767);  // ~1024 saturates
  auto add = PrepareAddSub(IntType::kInt16, {1.0f / 1024, 0}, {1.0f / 2048, 0}, {1.0f / 1024, 0},
                           FusedActivation::kNone, false);
  ASSERT_TRUE(add.ok());
  EXPECT_EQ(add->left_shift, 15);
  AddSubInt16(*add, Plan({2}, {2}), a, b, out);
  EXPECT_EQ(out[0], 0);      // 1.0 + -1.0
  EXPECT_EQ(out[1], 32767);  // 32 + 16 saturates
  EXPECT_FALSE(
      PrepareAddSub(IntType::kInt16, {1.0f, 1}, {1.0f, 0}, {1.0f, 0}, FusedActivation::kNone, false)
          .ok());
}

}  // namespace
}  // namespace liteq::runtime::quantized
