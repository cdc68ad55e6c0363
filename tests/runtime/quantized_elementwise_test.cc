// ADD, SUB, MUL and SOFTMAX on int8/int16 tensors through the interpreter:
// hand-computed cases and random broadcasting cases against the scalar reference
// kernels (runtime/kernels/quantized), bit for bit.
#include <gtest/gtest.h>

#include "quantized_test_util.h"
#include "runtime/kernels/quantized/elementwise_int.h"
#include "runtime/kernels/quantized/softmax_int.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;
using quantized::FusedActivation;
using quantized::IntType;

TEST(QuantizedArithmetic, AddInt8HandComputedWithBroadcast) {
  // 0.5 * a + 0.5 * b on an output of scale 1: {2.5, -2.5, 1.5, -1}, ties rounded
  // towards +infinity as LiteRT does (quantized_common.h ApplyMultiplier).
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kAdd, graph::BinaryOptions{},
                                       {Q<int8_t>({2, 2}, {3, -3, 1, 0}, {0.5f, 0}),
                                        Q<int8_t>({2}, {2, -2}, {0.5f, 0})},
                                       {QOut(DType::kInt8, {2, 2}, {1.0f, 0})}));
  EXPECT_EQ(out[0].as<int8_t>(), (std::vector<int8_t>{3, -2, 2, -1}));
}

TEST(QuantizedArithmetic, SubInt8HandComputed) {
  // a real = 0.25 * (q + 4) = {2, 0}; b real = 0.5 * (q - 2) = {1, -1}; out scale 0.5.
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kSub, graph::BinaryOptions{},
                      {Q<int8_t>({2}, {4, -4}, {0.25f, -4}), Q<int8_t>({2}, {4, 0}, {0.5f, 2})},
                      {QOut(DType::kInt8, {2}, {0.5f, 10})}));
  EXPECT_EQ(out[0].as<int8_t>(), (std::vector<int8_t>{12, 12}));
}

TEST(QuantizedArithmetic, MulInt8HandComputed) {
  // a = {2, -1.5}, b = {1, -0.5}: products {2, 0.75} at scale 0.125.
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kMul, graph::BinaryOptions{},
                      {Q<int8_t>({2}, {4, -3}, {0.5f, 0}), Q<int8_t>({2}, {6, 0}, {0.25f, 2})},
                      {QOut(DType::kInt8, {2}, {0.125f, 0})}));
  EXPECT_EQ(out[0].as<int8_t>(), (std::vector<int8_t>{16, 6}));
}

template <typename T>
void CheckArithmetic(OpCode code, quant::QuantParams a_q, quant::QuantParams b_q,
                     quant::QuantParams o_q, graph::Activation act, uint32_t seed) {
  constexpr bool k16 = sizeof(T) == 2;
  const int lo = k16 ? -32768 : -128, hi = k16 ? 32767 : 127;
  const Shape a_shape = {2, 3, 4}, b_shape = {3, 1};
  const auto a = RandomInts<T>(24, lo, hi, seed);
  const auto b = RandomInts<T>(3, lo, hi, seed + 1);
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(code, graph::BinaryOptions{act},
                                       {Q<T>(a_shape, a, a_q), Q<T>(b_shape, b, b_q)},
                                       {QOut(DTypeOf<T>(), {2, 3, 4}, o_q)}));
  ASSERT_OK_AND_ASSIGN(auto plan, quantized::MakeBroadcastPlan(std::vector<int64_t>{2, 3, 4},
                                                               std::vector<int64_t>{3, 1}));
  const FusedActivation fused =
      act == graph::Activation::kRelu ? FusedActivation::kRelu : FusedActivation::kNone;
  const IntType t = k16 ? IntType::kInt16 : IntType::kInt8;
  std::vector<T> expected(24);
  if (code == OpCode::kMul) {
    ASSERT_OK_AND_ASSIGN(auto p, quantized::PrepareMul(t, a_q, b_q, o_q, fused));
    if constexpr (k16) {
      quantized::MulInt16(p, plan, a, b, expected);
    } else {
      quantized::MulInt8(p, plan, a, b, expected);
    }
  } else {
    ASSERT_OK_AND_ASSIGN(auto p,
                         quantized::PrepareAddSub(t, a_q, b_q, o_q, fused, code == OpCode::kSub));
    if constexpr (k16) {
      quantized::AddSubInt16(p, plan, a, b, expected);
    } else {
      quantized::AddSubInt8(p, plan, a, b, expected);
    }
  }
  EXPECT_EQ(out[0].template as<T>(), expected) << graph::OpCodeName(code);
}

TEST(QuantizedArithmetic, Int8MatchesReference) {
  for (OpCode code : {OpCode::kAdd, OpCode::kSub, OpCode::kMul}) {
    CheckArithmetic<int8_t>(code, {0.03f, -5}, {0.08f, 17}, {0.1f, 3}, graph::Activation::kNone, 1);
    CheckArithmetic<int8_t>(code, {0.03f, -5}, {0.08f, 17}, {0.1f, 3}, graph::Activation::kRelu, 2);
  }
}

TEST(QuantizedArithmetic, Int16MatchesReference) {
  for (OpCode code : {OpCode::kAdd, OpCode::kSub, OpCode::kMul}) {
    CheckArithmetic<int16_t>(code, {0.0003f, 0}, {0.0011f, 0}, {0.002f, 0},
                             graph::Activation::kNone, 3);
  }
}

TEST(QuantizedArithmetic, AddWithLargeMaskScale) {
  // An attention mask (0 or -1e9 quantized at a huge scale) added to scores: the
  // scores' rescale factor (~1e-11) flushes to zero, which must not be an error.
  const quant::QuantParams scores{0.05f, 2}, mask{1e9f / 255.0f, 127}, out{1e9f / 255.0f, 127};
  CheckArithmetic<int8_t>(OpCode::kAdd, scores, mask, out, graph::Activation::kNone, 5);
}

TEST(QuantizedArithmetic, OutOfRangeRescaleIsAPrepareError) {
  // 2 * max input scale / (2^20 * output scale) >= 1 cannot be represented.
  auto r = RunOp(OpCode::kAdd, graph::BinaryOptions{},
                 {Q<int8_t>({1}, {1}, {1.0f, 0}), Q<int8_t>({1}, {1}, {1.0f, 0})},
                 {QOut(DType::kInt8, {1}, {1e-7f, 0})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ADD output"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("op 0 ADD"), std::string::npos) << r.status().ToString();
}

TEST(QuantizedSoftmax, Int8HandComputed) {
  // A uniform row of 4 gives 1/4 = 64/256 -> 64 - 128; a row {127, -128} at input
  // scale 1 gives {1, e^-255} -> {255 clamped to 127, -128}.
  ASSERT_OK_AND_ASSIGN(auto uniform,
                       RunOp(OpCode::kSoftmax, graph::SoftmaxOptions{1.0f},
                             {Q<int8_t>({2, 4}, {5, 5, 5, 5, -7, -7, -7, -7}, {0.1f, 3})},
                             {QOut(DType::kInt8, {2, 4}, {1.0f / 256, -128})}));
  EXPECT_EQ(uniform[0].as<int8_t>(), (std::vector<int8_t>(8, -64)));
  ASSERT_OK_AND_ASSIGN(auto peaked, RunOp(OpCode::kSoftmax, graph::SoftmaxOptions{1.0f},
                                          {Q<int8_t>({1, 2}, {127, -128}, {1.0f, 0})},
                                          {QOut(DType::kInt8, {1, 2}, {1.0f / 256, -128})}));
  EXPECT_EQ(peaked[0].as<int8_t>(), (std::vector<int8_t>{127, -128}));
}

template <typename T>
void CheckSoftmax(float beta, quant::QuantParams in_q, uint32_t seed) {
  constexpr bool k16 = sizeof(T) == 2;
  const quant::QuantParams out_q =
      k16 ? quant::QuantParams{1.0f / 32768, 0} : quant::QuantParams{1.0f / 256, -128};
  const auto x = RandomInts<T>(3 * 17, k16 ? -32768 : -128, k16 ? 32767 : 127, seed);
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kSoftmax, graph::SoftmaxOptions{beta}, {Q<T>({3, 17}, x, in_q)},
                      {QOut(DTypeOf<T>(), {3, 17}, out_q)}));
  std::vector<T> expected(x.size());
  if constexpr (k16) {
    ASSERT_OK_AND_ASSIGN(auto p, quantized::PrepareSoftmaxInt16(in_q, beta, out_q));
    quantized::SoftmaxInt16(p, 3, 17, x, expected);
  } else {
    ASSERT_OK_AND_ASSIGN(auto p, quantized::PrepareSoftmaxInt8(in_q, beta, out_q));
    quantized::SoftmaxInt8(p, 3, 17, x, expected);
  }
  EXPECT_EQ(out[0].template as<T>(), expected);
}

TEST(QuantizedSoftmax, MatchesReference) {
  CheckSoftmax<int8_t>(1.0f, {0.07f, -20}, 1);
  CheckSoftmax<int8_t>(0.5f, {0.2f, 10}, 2);
  CheckSoftmax<int16_t>(1.0f, {0.0003f, 0}, 3);
  CheckSoftmax<int16_t>(2.0f, {0.0001f, 0}, 4);
}

TEST(QuantizedSoftmax, RejectsWrongOutputParams) {
  auto r = RunOp(OpCode::kSoftmax, graph::SoftmaxOptions{1.0f},
                 {Q<int8_t>({1, 2}, {1, 2}, {0.1f, 0})}, {QOut(DType::kInt8, {1, 2}, {0.1f, 0})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("SOFTMAX outputs scale 1/256"), std::string::npos)
      << r.status().ToString();
}

}  // namespace
}  // namespace liteq::runtime::testing
