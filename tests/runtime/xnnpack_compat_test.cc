// XNNPACK's int8 arithmetic (runtime/kernels/quantized/xnnpack_compat.h) on
// hand-computed cases, and its selection by InterpreterOptions::int8_arithmetic.
// Every expected value below is worked out from XNNPACK's rules in the comment next
// to it; most are picked where TFLite's reference arithmetic gives another answer.
#include "runtime/kernels/quantized/xnnpack_compat.h"

#include <gtest/gtest.h>

#include <vector>

#include "quantized_test_util.h"

namespace liteq::runtime::quantized::xnnpack {
namespace {

using runtime::testing::F;
using runtime::testing::Q;
using runtime::testing::QOut;

BroadcastPlan SameShape(int64_t n) {
  auto plan = MakeBroadcastPlan(std::vector<int64_t>{n}, std::vector<int64_t>{n});
  EXPECT_TRUE(plan.ok());
  return *plan;
}

TEST(XnnpackCompat, RoundHalfEven) {
  EXPECT_EQ(RoundHalfEven(0.5f), 0);
  EXPECT_EQ(RoundHalfEven(1.5f), 2);
  EXPECT_EQ(RoundHalfEven(2.5f), 2);
  EXPECT_EQ(RoundHalfEven(-0.5f), 0);
  EXPECT_EQ(RoundHalfEven(-1.5f), -2);
  EXPECT_EQ(RoundHalfEven(-2.5f), -2);
  EXPECT_EQ(RoundHalfEven(2.5000002f), 3);
}

TEST(XnnpackCompat, QuantizeMultipliesByTheReciprocalAndRoundsToEven) {
  std::vector<int8_t> q(6);
  // scale 0.5, zp 0: x * 2 = 0.5, 1.5, -0.5, -2.5 -> 0, 2, 0, -2 (TFLite: 1, 2, -1, -3);
  // saturation at both ends.
  QuantizeFloatToInt8(std::vector<float>{0.25f, 0.75f, -0.25f, -1.25f, 1000.0f, -1000.0f},
                      {0.5f, 0}, q);
  EXPECT_EQ(q, (std::vector<int8_t>{0, 2, 0, -2, 127, -128}));
  // scale 0.3f: -38.25 * (1 / 0.3f) is exactly -127.5 in float -> -128, where TFLite's
  // division gives -127.4999924 -> -127. scale 0.02f: -2.45f * (1 / 0.02f) = -122.5 ->
  // -122 (TFLite: -122.5000076 -> -123). With zp 3 the clamp is on x / s <= 124.
  std::vector<int8_t> one(1);
  QuantizeFloatToInt8(std::vector<float>{-38.25f}, {0.3f, 0}, one);
  EXPECT_EQ(one[0], -128);
  QuantizeFloatToInt8(std::vector<float>{-2.45f}, {0.02f, 0}, one);
  EXPECT_EQ(one[0], -122);
  QuantizeFloatToInt8(std::vector<float>{200.0f}, {1.0f, 3}, one);
  EXPECT_EQ(one[0], 127);
}

TEST(XnnpackCompat, RequantizeUsesAnEightBitMultiplier) {
  // s_in / s_out = 1/4: m = 64, out = (64 x + 128) >> 8: ties towards +infinity.
  auto p = PrepareRequantize({1.0f, 0}, {4.0f, 0});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->multiplier, 64);
  std::vector<int8_t> out(4);
  Requantize(*p, std::vector<int8_t>{2, -2, 6, -6}, out);
  EXPECT_EQ(out, (std::vector<int8_t>{1, 0, 2, -1}));
  // s_in / s_out = 0.0058: m = lrintf(1.4848) = 1, so 127 -> (127 + 128) >> 8 = 0
  // (TFLite: round(0.7366) = 1); with zero points 10 -> 5: (5*256 + (x - 10) + 128) >> 8
  // = 5, 4, 5, 5 for x = 127, -128, 10, 0.
  p = PrepareRequantize({0.0058f, 10}, {1.0f, 5});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->multiplier, 1);
  Requantize(*p, std::vector<int8_t>{127, -128, 10, 0}, out);
  EXPECT_EQ(out, (std::vector<int8_t>{5, 4, 5, 5}));
  // Outside [2^-8, 2^7] XNNPACK refuses the op (LiteRT runs TFLite's kernel).
  EXPECT_EQ(PrepareRequantize({0.001f, 0}, {1.0f, 0}).status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(PrepareRequantize({200.0f, 0}, {1.0f, 0}).status().code(), StatusCode::kUnimplemented);
}

TEST(XnnpackCompat, AddMultipliersAndShift) {
  const ActivationRange full{-128, 127};
  // r_a = 0.5, r_b = 0.25: max exponent -1, shift 21, m_a = 2^20, m_b = 2^19.
  auto p = PrepareAdd({0.5f, 0}, {0.25f, 0}, {1.0f, 0}, full, false);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->shift, 21);
  EXPECT_EQ(p->a_multiplier, 1 << 20);
  EXPECT_EQ(p->b_multiplier, 1 << 19);
  EXPECT_EQ(p->bias, 1 << 20);
  std::vector<int8_t> out(4);
  // 0.5 + 1 = 1.5 -> 2, 0.5 -> 1 and -0.5 -> 0 (ties towards +inf), -1.5 -> -1.
  Add(*p, SameShape(4), std::vector<int8_t>{1, 1, -1, -3}, std::vector<int8_t>{4, 0, 0, 0}, out);
  EXPECT_EQ(out, (std::vector<int8_t>{2, 1, 0, -1}));
  // SUB negates b's multiplier: 0.5 - 0.5 = 0, 0 - 0.5 = -0.5 -> 0, 0.5 - (-1) -> 2,
  // 63.5 - (-32) = 95.5 -> 96.
  p = PrepareAdd({0.5f, 0}, {0.25f, 0}, {1.0f, 0}, full, true);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->b_multiplier, -(1 << 19));
  Add(*p, SameShape(4), std::vector<int8_t>{1, 0, 1, 127}, std::vector<int8_t>{2, 2, -4, -128},
      out);
  EXPECT_EQ(out, (std::vector<int8_t>{0, 0, 2, 96}));
  // r = 0.3f / 0.7f = 0.42857146 (exponent -2): shift 22, m = lrintf(1797558.9...) =
  // 1797559; zero points fold into the bias: 2^21 - m * 3 - m * (-2).
  p = PrepareAdd({0.3f, 3}, {0.3f, -2}, {0.7f, 1}, full, false);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->shift, 22);
  EXPECT_EQ(p->a_multiplier, 1797559);
  EXPECT_EQ(p->bias, (1 << 21) - 1797559 * 3 + 1797559 * 2);
  // a - 3 = 7, b + 2 = 7: 14 * 0.428571 = 6.0000004 -> 6, + zp 1 = 7.
  std::vector<int8_t> one(1);
  Add(*p, SameShape(1), std::vector<int8_t>{10}, std::vector<int8_t>{5}, one);
  EXPECT_EQ(one[0], 7);
  EXPECT_EQ(PrepareAdd({0.0001f, 0}, {1.0f, 0}, {1.0f, 0}, full, false).status().code(),
            StatusCode::kUnimplemented);
}

TEST(XnnpackCompat, MulRoundsTheFloatProductToEven) {
  // scale 0.5 * 0.5 / 1 = 0.25: 2*1/4 = 0.5 -> 0, 6/4 = 1.5 -> 2, -1.5 -> -2, 2.5 -> 2
  // (TFLite's single rounding: 1, 2, -1, 3); zp_b = 1 shifts b; zp_out = -3 adds.
  auto p = PrepareMul({0.5f, 0}, {0.5f, 1}, {1.0f, -3}, {-128, 127});
  ASSERT_TRUE(p.ok());
  EXPECT_FLOAT_EQ(p->scale, 0.25f);
  std::vector<int8_t> out(5);
  Mul(*p, SameShape(5), std::vector<int8_t>{2, 2, -2, 2, 127}, std::vector<int8_t>{2, 4, 4, 6, 127},
      out);
  EXPECT_EQ(out, (std::vector<int8_t>{-3, -1, -5, -1, 127}));
}

TEST(XnnpackCompat, FullyConnectedRequantizesInFloat) {
  // s_in 0.5 (zp 1), s_w 0.25, s_out 1 (zp 0): scale 0.125. x - zp = (2, 4), w = (1, 1):
  // acc = 6 + bias. bias 0: 0.75 -> 1; -2: 0.5 -> 0; 6: 1.5 -> 2; 14: 2.5 -> 2.
  const std::vector<float> w_scales = {0.25f};
  auto p = PrepareFullyConnected({0.5f, 1}, w_scales, 4, {1.0f, 0}, {-128, 127});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->scales, (std::vector<float>(4, 0.125f)));
  std::vector<int8_t> out(4);
  FullyConnected(*p, {1, 2, 4}, std::vector<int8_t>{3, 5},
                 std::vector<int8_t>{1, 1, 1, 1, 1, 1, 1, 1}, std::vector<int32_t>{0, -2, 6, 14},
                 out);
  EXPECT_EQ(out, (std::vector<int8_t>{1, 0, 2, 2}));
  // Requantization scales >= 256 are refused by XNNPACK.
  EXPECT_EQ(PrepareFullyConnected({1.0f, 0}, std::vector<float>{1.0f}, 1, {0.001f, 0}, {-128, 127})
                .status()
                .code(),
            StatusCode::kUnimplemented);
}

TEST(XnnpackCompat, BatchMatMulRequantizesInFloatWhenRhsIsSymmetric) {
  // lhs [1, 2] (s 0.25, zp 3), rhs [2, 3] (s 0.5, zp 0), out s 0.25 zp -7: scale 0.5.
  // lhs - zp = (1, 3); rhs columns (1, 0), (1, 1), (3, 0): sums 1, 4, 3 -> 0.5, 2, 1.5
  // -> 0, 2, 2 (TFLite: 1, 2, 2) -> -7, -5, -5.
  const std::vector<int64_t> lhs_shape = {1, 2}, rhs_shape = {2, 3};
  auto layout = PrepareBatchMatMulInt8({0.25f, 3}, lhs_shape, {0.5f, 0}, rhs_shape, {0.25f, -7},
                                       false, false);
  ASSERT_TRUE(layout.ok());
  auto p = PrepareBatchMatMul(*layout, {0.25f, 3}, {0.5f, 0}, {0.25f, -7}, false);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->scale, 0.5f);
  std::vector<int8_t> out(3);
  BatchMatMul(*p, std::vector<int8_t>{4, 6}, std::vector<int8_t>{1, 1, 3, 0, 1, 0}, out);
  EXPECT_EQ(out, (std::vector<int8_t>{-7, -5, -5}));
  // A non-zero rhs zero point: XNNPACK refuses, LiteRT runs TFLite's kernel.
  EXPECT_EQ(PrepareBatchMatMul(*layout, {0.25f, 3}, {0.5f, 1}, {0.25f, -7}, false).status().code(),
            StatusCode::kUnimplemented);
}

TEST(XnnpackCompat, DynamicRowQuantizationIsAsymmetric) {
  // [-1, 2]: inverse 255 / 3 = 85; zero point from the min side (-213 + 297 > 0):
  // -128 + 85 = -43. -1 -> -85 - 43 = -128, 0 -> -43, 2 -> clamp(170, 170) -> 127,
  // 0.5 -> 42.5 -> 42 (even) -> -1.
  std::vector<int8_t> q(4);
  quant::QuantParams row = QuantizeDynamicRow(std::vector<float>{-1.0f, 0.0f, 2.0f, 0.5f}, q);
  EXPECT_EQ(row.zero_point, -43);
  EXPECT_EQ(row.scale, 1.0f / 85.0f);
  EXPECT_EQ(q, (std::vector<int8_t>{-128, -43, 127, -1}));
  // Only positive values: the range starts at 0, zero point -128.
  std::vector<int8_t> q2(2);
  row = QuantizeDynamicRow(std::vector<float>{1.0f, 3.0f}, q2);
  EXPECT_EQ(row.zero_point, -128);
  EXPECT_EQ(q2, (std::vector<int8_t>{-43, 127}));
  // A zero row: scale 1, zero point 127 (the max side wins the tie-break), q = 127.
  row = QuantizeDynamicRow(std::vector<float>{0.0f, 0.0f}, q2);
  EXPECT_EQ(row.scale, 1.0f);
  EXPECT_EQ(row.zero_point, 127);
  EXPECT_EQ(q2, (std::vector<int8_t>{127, 127}));
}

TEST(XnnpackCompat, HybridFullyConnectedAppliesScalesInXnnpackOrder) {
  // The row above: q - zp = (-85, 0, 170, 42); w = (1, 2, 3, 4) -> acc = 593;
  // out = ((593 * (1/85)) * 0.5) + 1 in float; a zero row gives the bias.
  HybridParams params{{0.5f}, -1e30f, 1e30f};
  std::vector<float> out(2);
  std::vector<int8_t> scratch(4);
  HybridFullyConnected(params, {2, 4, 1}, std::vector<float>{-1.0f, 0.0f, 2.0f, 0.5f, 0, 0, 0, 0},
                       std::vector<int8_t>{1, 2, 3, 4}, std::vector<float>{1.0f}, out, scratch);
  const float row_scale = 1.0f / 85.0f;
  EXPECT_EQ(out[0], (593.0f * row_scale) * 0.5f + 1.0f);
  EXPECT_EQ(out[1], 1.0f);
}

// The option selects these kernels in the interpreter: an int8 MUL with a tie.
TEST(XnnpackCompat, InterpreterOptionSelectsXnnpackArithmetic) {
  using runtime::testing::RunOp;
  const std::vector<runtime::testing::Value> inputs = {Q<int8_t>({3}, {2, 2, 2}, {0.5f, 0}),
                                                       Q<int8_t>({3}, {1, 3, 5}, {0.5f, 0})};
  const auto out = QOut(graph::DType::kInt8, {3}, {1.0f, 0});
  auto reference = RunOp(graph::OpCode::kMul, graph::BinaryOptions{}, inputs, {out});
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  auto xnn = RunOp(graph::OpCode::kMul, graph::BinaryOptions{}, inputs, {out},
                   {.int8_arithmetic = Int8Arithmetic::kXnnpack});
  ASSERT_TRUE(xnn.ok()) << xnn.status().ToString();
  // 0.5, 1.5, 2.5: TFLite's single rounding 1, 2, 3; XNNPACK 0, 2, 2.
  EXPECT_EQ((*reference)[0].bytes, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ((*xnn)[0].bytes, (std::vector<uint8_t>{0, 2, 2}));
  // A float QUANTIZE tie: 0.25 / 0.5 -> 1 (TFLite) or 0 (XNNPACK).
  const std::vector<runtime::testing::Value> x = {F({1}, {0.25f})};
  const auto q = QOut(graph::DType::kInt8, {1}, {0.5f, 0});
  auto ref_q = RunOp(graph::OpCode::kQuantize, graph::NoOptions{}, x, {q});
  auto xnn_q = RunOp(graph::OpCode::kQuantize, graph::NoOptions{}, x, {q},
                     {.int8_arithmetic = Int8Arithmetic::kXnnpack});
  ASSERT_TRUE(ref_q.ok() && xnn_q.ok());
  EXPECT_EQ((*ref_q)[0].bytes, (std::vector<uint8_t>{1}));
  EXPECT_EQ((*xnn_q)[0].bytes, (std::vector<uint8_t>{0}));
}

}  // namespace
}  // namespace liteq::runtime::quantized::xnnpack
