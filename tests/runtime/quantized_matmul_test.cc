// FULLY_CONNECTED (int8, 16x8, hybrid) and BATCH_MATMUL (int8, int16) through the
// interpreter: a hand-computed case and random cases against the scalar reference
// kernels (runtime/kernels/quantized), which must agree bit for bit.
#include <gtest/gtest.h>

#include "quantized_test_util.h"
#include "runtime/kernels/quantized/batch_matmul_int.h"
#include "runtime/kernels/quantized/fully_connected_int.h"
#include "runtime/kernels/quantized/hybrid_fully_connected.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

graph::QuantParams WeightParams(const std::vector<float>& scales) {
  graph::QuantParams q;
  q.scale = scales;
  q.zero_point.assign(scales.size(), 0);
  q.quantized_dimension = 0;
  return q;
}

TEST(QuantizedFullyConnected, Int8HandComputed) {
  // x real = 0.5 * (q - 1) = {1, 0, -1}; w per channel scales {0.25, 0.5};
  // acc0 = 2*1 + 0*2 - 2*3 + 8 = 4 -> 4 * 0.125 = 0.5 -> 1 (ties towards +infinity)
  // acc1 = -2 + 0 - 8 - 2 = -12 -> -12 * 0.25 = -3
  Value x = Q<int8_t>({1, 3}, {3, 1, -1}, {0.5f, 1});
  Value w = MakeValue(DType::kInt8, {2, 3}, std::vector<int8_t>{1, 2, 3, -1, 0, 4}, true);
  w.quant = WeightParams({0.25f, 0.5f});
  Value b = MakeValue(DType::kInt32, {2}, std::vector<int32_t>{8, -2}, true);
  b.quant = WeightParams({0.125f, 0.25f});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kFullyConnected, graph::FullyConnectedOptions{},
                                       {x, w, b}, {QOut(DType::kInt8, {1, 2}, {1.0f, 0})}));
  EXPECT_EQ(out[0].as<int8_t>(), (std::vector<int8_t>{1, -3}));
}

struct FcCase {
  bool per_channel;
  bool bias;
  Shape input_shape;  // last dim = depth
};

template <typename T, typename Bias>
void CheckIntegerFc(const FcCase& c, uint32_t seed) {
  const int64_t depth = c.input_shape.back(), out_ch = 5;
  int64_t batches = 1;
  for (int32_t d : c.input_shape) batches *= d;
  batches /= depth;
  constexpr bool k16 = sizeof(T) == 2;
  const quant::QuantParams in_q =
      k16 ? quant::QuantParams{0.0007f, 0} : quant::QuantParams{0.04f, -9};
  const quant::QuantParams out_q =
      k16 ? quant::QuantParams{0.002f, 0} : quant::QuantParams{0.09f, 4};
  const auto x = RandomInts<T>(static_cast<size_t>(batches * depth), k16 ? -32768 : -128,
                               k16 ? 32767 : 127, seed);
  const auto w = RandomInts<int8_t>(static_cast<size_t>(out_ch * depth), -127, 127, seed + 1);
  const auto bias = RandomInts<Bias>(static_cast<size_t>(out_ch), -3000, 3000, seed + 2);
  std::vector<float> scales = c.per_channel
                                  ? std::vector<float>{0.01f, 0.02f, 0.005f, 0.013f, 0.03f}
                                  : std::vector<float>{0.011f};
  Value wv = MakeValue(DType::kInt8, {5, static_cast<int32_t>(depth)}, w, true);
  wv.quant = WeightParams(scales);
  Value bv = c.bias ? MakeValue(DTypeOf<Bias>(), {5}, bias, true) : Absent();
  Shape out_shape = {static_cast<int32_t>(batches), 5};
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kFullyConnected, graph::FullyConnectedOptions{},
                                       {Q<T>(c.input_shape, x, in_q), wv, bv},
                                       {QOut(DTypeOf<T>(), out_shape, out_q)}));
  quantized::FullyConnectedShape shape{batches, depth, out_ch};
  std::vector<T> expected(static_cast<size_t>(batches * out_ch));
  std::span<const Bias> bias_span;
  if (c.bias) bias_span = bias;
  if constexpr (k16) {
    ASSERT_OK_AND_ASSIGN(auto p, quantized::PrepareFullyConnected16x8(
                                     in_q, scales, out_q, quantized::FusedActivation::kNone));
    quantized::FullyConnected16x8(p, shape, x, w, bias_span, expected);
  } else {
    ASSERT_OK_AND_ASSIGN(auto p, quantized::PrepareFullyConnectedInt8(
                                     in_q, scales, out_q, quantized::FusedActivation::kNone));
    quantized::FullyConnectedInt8(p, shape, x, w, bias_span, expected);
  }
  EXPECT_EQ(out[0].template as<T>(), expected);
}

TEST(QuantizedFullyConnected, Int8MatchesReference) {
  CheckIntegerFc<int8_t, int32_t>({true, true, {3, 16}}, 10);
  CheckIntegerFc<int8_t, int32_t>({false, true, {2, 3, 16}}, 20);  // rank 3 flattens
  CheckIntegerFc<int8_t, int32_t>({true, false, {4, 7}}, 30);
}

TEST(QuantizedFullyConnected, Int16x8MatchesReference) {
  CheckIntegerFc<int16_t, int64_t>({true, true, {3, 16}}, 40);
  CheckIntegerFc<int16_t, int64_t>({false, false, {2, 2, 9}}, 50);
}

void CheckHybridFc(bool per_channel, bool asymmetric, bool bias, uint32_t seed) {
  const int64_t batches = 3, depth = 12, out_ch = 4;
  auto x = RandomFloats(static_cast<size_t>(batches * depth), -2.0f, 3.0f, seed);
  x[5] = 0.0f;
  const auto w = RandomInts<int8_t>(static_cast<size_t>(out_ch * depth), -127, 127, seed + 1);
  const auto b = RandomFloats(static_cast<size_t>(out_ch), -1.0f, 1.0f, seed + 2);
  const std::vector<float> scales =
      per_channel ? std::vector<float>{0.01f, 0.02f, 0.03f, 0.004f} : std::vector<float>{0.015f};
  Value wv = MakeValue(DType::kInt8, {4, 12}, w, true);
  wv.quant = WeightParams(scales);
  graph::FullyConnectedOptions opts;
  opts.asymmetric_quantize_inputs = asymmetric;
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kFullyConnected, opts,
                                       {F({3, 12}, x), wv, bias ? CF({4}, b) : Absent()},
                                       {{DType::kFloat32, {3, 4}}}));
  ASSERT_OK_AND_ASSIGN(auto p, quantized::PrepareHybridFullyConnected(
                                   scales, asymmetric, quantized::FusedActivation::kNone));
  std::vector<float> expected(static_cast<size_t>(batches * out_ch));
  std::vector<int8_t> scratch(static_cast<size_t>(depth));
  std::span<const float> bias_span;
  if (bias) bias_span = b;
  quantized::HybridFullyConnected(p, {batches, depth, out_ch}, x, w, bias_span, expected, scratch);
  EXPECT_EQ(out[0].f(), expected);
}

TEST(QuantizedFullyConnected, HybridMatchesReference) {
  CheckHybridFc(true, false, true, 60);
  CheckHybridFc(true, true, true, 70);
  CheckHybridFc(false, true, false, 80);
  CheckHybridFc(false, false, false, 90);
}

TEST(QuantizedFullyConnected, RejectsAsymmetricWeightsAndWrongBias) {
  Value x = Q<int8_t>({1, 2}, {1, 2}, {0.5f, 0});
  Value w = MakeValue(DType::kInt8, {1, 2}, std::vector<int8_t>{1, 2}, true);
  w.quant = PerTensor(0.1f, 3);
  auto r = RunOp(OpCode::kFullyConnected, graph::FullyConnectedOptions{}, {x, w, Absent()},
                 {QOut(DType::kInt8, {1, 1}, {1.0f, 0})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("zero point 3"), std::string::npos) << r.status().ToString();
  w.quant = PerTensor(0.1f, 0);
  Value b = MakeValue(DType::kInt64, {1}, std::vector<int64_t>{1}, true);
  auto r2 = RunOp(OpCode::kFullyConnected, graph::FullyConnectedOptions{}, {x, w, b},
                  {QOut(DType::kInt8, {1, 1}, {1.0f, 0})});
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("int32"), std::string::npos) << r2.status().ToString();
}

template <typename T>
void CheckBatchMatMul(bool adj_x, bool adj_y, uint32_t seed) {
  constexpr bool k16 = sizeof(T) == 2;
  const Shape lhs_shape = adj_x ? Shape{2, 1, 6, 3} : Shape{2, 1, 3, 6};
  const Shape rhs_shape = adj_y ? Shape{3, 4, 6} : Shape{3, 6, 4};
  const quant::QuantParams a_q = k16 ? quant::QuantParams{0.001f, 0} : quant::QuantParams{0.05f, 3};
  const quant::QuantParams b_q =
      k16 ? quant::QuantParams{0.002f, 0} : quant::QuantParams{0.07f, -6};
  const quant::QuantParams o_q = k16 ? quant::QuantParams{0.03f, 0} : quant::QuantParams{0.3f, -2};
  const int lo = k16 ? -32768 : -128, hi = k16 ? 32767 : 127;
  const auto a = RandomInts<T>(36, lo, hi, seed);
  const auto b = RandomInts<T>(72, lo, hi, seed + 1);
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp(OpCode::kBatchMatmul, graph::BatchMatMulOptions{adj_x, adj_y},
                             {Q<T>(lhs_shape, a, a_q), Q<T>(rhs_shape, b, b_q)},
                             {QOut(DTypeOf<T>(), {2, 3, 3, 4}, o_q)}));
  const std::vector<int64_t> ls(lhs_shape.begin(), lhs_shape.end());
  const std::vector<int64_t> rs(rhs_shape.begin(), rhs_shape.end());
  std::vector<T> expected(72);
  if constexpr (k16) {
    ASSERT_OK_AND_ASSIGN(auto p,
                         quantized::PrepareBatchMatMulInt16(a_q, ls, b_q, rs, o_q, adj_x, adj_y));
    quantized::BatchMatMulInt16(p, a, b, expected);
  } else {
    ASSERT_OK_AND_ASSIGN(auto p,
                         quantized::PrepareBatchMatMulInt8(a_q, ls, b_q, rs, o_q, adj_x, adj_y));
    quantized::BatchMatMulInt8(p, a, b, expected);
  }
  EXPECT_EQ(out[0].template as<T>(), expected);
}

TEST(QuantizedBatchMatMul, Int8MatchesReference) {
  CheckBatchMatMul<int8_t>(false, false, 100);
  CheckBatchMatMul<int8_t>(true, true, 110);
}

TEST(QuantizedBatchMatMul, Int16MatchesReference) {
  CheckBatchMatMul<int16_t>(false, true, 120);
  CheckBatchMatMul<int16_t>(true, false, 130);
}

TEST(QuantizedBatchMatMul, Int8HandComputed) {
  // [1,2] x [2,1]: (2-0)*(3-1) + (4-0)*(1-1) = 4 -> * 0.5*0.5/1 = 1.
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kBatchMatmul, graph::BatchMatMulOptions{},
                      {Q<int8_t>({1, 2}, {2, 4}, {0.5f, 0}), Q<int8_t>({2, 1}, {3, 1}, {0.5f, 1})},
                      {QOut(DType::kInt8, {1, 1}, {1.0f, -3})}));
  EXPECT_EQ(out[0].as<int8_t>(), (std::vector<int8_t>{-2}));
}

}  // namespace
}  // namespace liteq::runtime::testing
