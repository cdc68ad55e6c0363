// liteq's XNNPACK arithmetic mode (InterpreterOptions::int8_arithmetic = kXnnpack)
// against the official LiteRT runtime (@litertjs/core), op by op, on inputs chosen
// where XNNPACK's arithmetic differs from TFLite's reference arithmetic (liteq's
// default): float ties and x * (1 / s) vs x / s in QUANTIZE, the 8-bit multiplier of
// int8 requantization, ADD/SUB's 21-bit multipliers, MUL's and FULLY_CONNECTED's
// float requantization, and hybrid FULLY_CONNECTED's asymmetric row quantization.
// In xnnpack mode every output must equal LiteRT's; the default mode's differences
// are counted, to show the inputs do tell the two arithmetics apart.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "litert_compare_util.h"

namespace liteq::e2e {
namespace {

using graph::DType;
using graph::OpCode;
using runtime::testing::GraphBuilder;
using runtime::testing::PerTensor;

constexpr int kN = 256;  // elements of the elementwise tensors
constexpr int kRows = 8, kDepth = 64, kOut = 16;

int Int8Tensor(GraphBuilder& g, const std::string& name, std::vector<int32_t> shape, float scale,
               int64_t zp) {
  const int t = g.Tensor(name, DType::kInt8, std::move(shape));
  g.sg().tensors[t].quant = PerTensor(scale, zp);
  return t;
}

std::shared_ptr<graph::Model> BuildElementwise() {
  GraphBuilder g;
  g.BeginSignature("serving_default");
  const int x = g.Input("x", DType::kFloat32, {kN});
  const int y = g.Input("y", DType::kFloat32, {kN});
  const int a = Int8Tensor(g, "a_q", {kN}, 0.3f, 0);
  g.Op(OpCode::kQuantize, {x}, {a});
  const int b = Int8Tensor(g, "b_q", {kN}, 0.02f, -5);
  g.Op(OpCode::kQuantize, {y}, {b});
  // s_in / s_out = 0.3 / 51.7 = 0.0058: multiplier lrintf(1.485) = 1 in XNNPACK.
  const int coarse = Int8Tensor(g, "requant_coarse_q", {kN}, 51.7f, 3);
  g.Op(OpCode::kQuantize, {a}, {coarse});
  const int fine = Int8Tensor(g, "requant_q", {kN}, 0.7f, -9);
  g.Op(OpCode::kQuantize, {a}, {fine});
  const int sum = Int8Tensor(g, "add_q", {kN}, 0.31f, 4);
  g.Op(OpCode::kAdd, {a, b}, {sum}, graph::BinaryOptions{});
  const int diff = Int8Tensor(g, "sub_q", {kN}, 0.33f, -2);
  g.Op(OpCode::kSub, {a, b}, {diff}, graph::BinaryOptions{});
  const int prod = Int8Tensor(g, "mul_q", {kN}, 0.05f, 1);
  g.Op(OpCode::kMul, {a, b}, {prod}, graph::BinaryOptions{});
  // A broadcast operand (one value), as the residual and norm ops of the recipes have.
  const int c = g.Const("c", DType::kInt8, {1}, std::vector<int8_t>{-77});
  g.sg().tensors[c].quant = PerTensor(0.011f, 6);
  const int bsum = Int8Tensor(g, "add_broadcast_q", {kN}, 0.29f, 0);
  g.Op(OpCode::kAdd, {c, a}, {bsum}, graph::BinaryOptions{});
  for (const char* name :
       {"a", "b", "requant_coarse", "requant", "add", "sub", "mul", "add_broadcast"}) {
    const std::string q = std::string(name) + "_q";
    for (size_t t = 0; t < g.sg().tensors.size(); ++t) {
      if (g.sg().tensors[t].name == q) DequantizedOutput(g, name, static_cast<int>(t));
    }
  }
  return g.model();
}

// x covers exact float ties of both input scales and the reciprocal cases
// (-38.25 / 0.3f, -2.45f / 0.02f), then uniform values; y likewise.
std::vector<float> ElementwiseInput(float scale, uint32_t seed, std::vector<float> special) {
  std::vector<float> v = std::move(special);
  for (int k = -60; k < 60 && v.size() < kN / 2; ++k) {
    v.push_back((static_cast<float>(k) + 0.5f) * scale);
  }
  const std::vector<float> rest = Uniform(kN - v.size(), -45.0f * scale, 45.0f * scale, seed);
  v.insert(v.end(), rest.begin(), rest.end());
  return v;
}

// In xnnpack mode every listed output equals LiteRT's; the default mode's differences
// are counted and, when `default_mode_differs`, must exist.
void ExpectXnnpackModeEqual(const graph::Model& model, const std::string& file,
                            const std::vector<conformance::LiteRtTensor>& inputs,
                            const std::vector<std::string>& quantized_outputs,
                            bool default_mode_differs = true) {
  const Outputs xnnpack =
      RunBoth(model, "xnn_" + file, inputs, {.int8_arithmetic = runtime::Int8Arithmetic::kXnnpack});
  const Outputs reference = RunBoth(model, "ref_" + file, inputs);
  int reference_differs = 0;
  for (const std::string& name : quantized_outputs) {
    ASSERT_TRUE(xnnpack.count(name) && reference.count(name)) << name;
    const float step = ScaleOf(model, name + "_q");
    EXPECT_EQ(CompareOutput("xnnpack mode", name, xnnpack.at(name), step, 0), 0) << name;
    // The default arithmetic: only counted (differences in one op's output carry into
    // the next ops, so they are not bounded here).
    reference_differs += CompareOutput("default mode", name, reference.at(name), step, 255);
  }
  if (default_mode_differs) {
    EXPECT_GT(reference_differs, 0) << "the inputs do not tell the arithmetics apart";
  }
}

TEST(LiteRtXnnpackConformance, ElementwiseInt8EqualsLiteRt) {
  LITEQ_REQUIRE_LITERT();
  std::shared_ptr<graph::Model> model = BuildElementwise();
  const std::vector<float> x = ElementwiseInput(0.3f, 1, {-38.25f, 38.25f});
  const std::vector<float> y = ElementwiseInput(0.02f, 2, {-2.45f, 2.45f});
  ExpectXnnpackModeEqual(
      *model, "elementwise.tflite",
      {conformance::MakeFloat32Tensor("x", {kN}, x), conformance::MakeFloat32Tensor("y", {kN}, y)},
      {"a", "b", "requant_coarse", "requant", "add", "sub", "mul", "add_broadcast"});
}

// int8 GELU (tanh approximation and erf) and LOGISTIC / TANH on every int8 input
// value, with scales like the MLP activations of the static recipes: LiteRT gives the
// same tables as liteq in both modes (XNNPACK is not involved or agrees).
TEST(LiteRtXnnpackConformance, Int8ActivationTablesEqualLiteRt) {
  LITEQ_REQUIRE_LITERT();
  GraphBuilder g;
  g.BeginSignature("serving_default");
  const int x = g.Input("x", DType::kFloat32, {kN});
  const int a = Int8Tensor(g, "a_q", {kN}, 0.0514439f, -14);
  g.Op(OpCode::kQuantize, {x}, {a});
  const int gelu = Int8Tensor(g, "gelu_q", {kN}, 0.0291343f, -122);
  g.Op(OpCode::kGelu, {a}, {gelu}, graph::GeluOptions{true});
  DequantizedOutput(g, "gelu", gelu);
  const int gelu_erf = Int8Tensor(g, "gelu_erf_q", {kN}, 0.0291343f, -122);
  g.Op(OpCode::kGelu, {a}, {gelu_erf}, graph::GeluOptions{false});
  DequantizedOutput(g, "gelu_erf", gelu_erf);
  const int logistic = Int8Tensor(g, "logistic_q", {kN}, 1.0f / 256, -128);
  g.Op(OpCode::kLogistic, {a}, {logistic}, graph::NoOptions{});
  DequantizedOutput(g, "logistic", logistic);
  const int tanh = Int8Tensor(g, "tanh_q", {kN}, 1.0f / 128, 0);
  g.Op(OpCode::kTanh, {a}, {tanh}, graph::NoOptions{});
  DequantizedOutput(g, "tanh", tanh);
  std::vector<float> xv;
  for (int q = -128; q < 128; ++q) xv.push_back(0.0514439f * static_cast<float>(q + 14));
  ExpectXnnpackModeEqual(*g.model(), "activations.tflite",
                         {conformance::MakeFloat32Tensor("x", {kN}, xv)},
                         {"gelu", "gelu_erf", "logistic", "tanh"},
                         /*default_mode_differs=*/false);
}

// BATCH_MATMUL int8: XNNPACK takes it only when the rhs zero point is 0 (then float
// requantization, ties to even); otherwise LiteRT runs TFLite's kernel (double
// rounding), in both liteq modes. Scales 0.25 * 0.5 / 0.25: odd sums are exact ties.
TEST(LiteRtXnnpackConformance, BatchMatMulInt8EqualsLiteRt) {
  LITEQ_REQUIRE_LITERT();
  GraphBuilder g;
  g.BeginSignature("serving_default");
  const int x = g.Input("x", DType::kFloat32, {2, 8, 16});
  const int y = g.Input("y", DType::kFloat32, {2, 12, 16});
  const int xq = Int8Tensor(g, "x_q", {2, 8, 16}, 0.25f, 3);
  g.Op(OpCode::kQuantize, {x}, {xq});
  for (int zp : {0, 5}) {
    const std::string suffix = std::to_string(zp);
    const int yq = Int8Tensor(g, "y" + suffix + "_q", {2, 12, 16}, 0.5f, zp);
    g.Op(OpCode::kQuantize, {y}, {yq});
    const int out = Int8Tensor(g, "bmm_rhs_zp" + suffix + "_q", {2, 8, 12}, 0.25f, -7);
    graph::BatchMatMulOptions opts;
    opts.adj_y = true;
    g.Op(OpCode::kBatchMatmul, {xq, yq}, {out}, opts);
    DequantizedOutput(g, "bmm_rhs_zp" + suffix, out);
  }
  // Small values keep the sums inside the output range.
  std::vector<float> xv = Uniform(2 * 8 * 16, -1.0f, 1.0f, 31);
  std::vector<float> yv = Uniform(2 * 12 * 16, -1.5f, 1.5f, 32);
  ExpectXnnpackModeEqual(*g.model(), "bmm.tflite",
                         {conformance::MakeFloat32Tensor("x", {2, 8, 16}, xv),
                          conformance::MakeFloat32Tensor("y", {2, 12, 16}, yv)},
                         {"bmm_rhs_zp0", "bmm_rhs_zp5"});
}

std::vector<int8_t> RandomWeights(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> w(n);
  for (int8_t& v : w) v = static_cast<int8_t>(d(rng));
  return w;
}

TEST(LiteRtXnnpackConformance, FullyConnectedInt8EqualsLiteRt) {
  LITEQ_REQUIRE_LITERT();
  GraphBuilder g;
  g.BeginSignature("serving_default");
  const int x = g.Input("x", DType::kFloat32, {kRows, kDepth});
  const int xq = Int8Tensor(g, "x_q", {kRows, kDepth}, 0.03125f, -3);
  g.Op(OpCode::kQuantize, {x}, {xq});
  // Channels 0-3 pick one input (weight 1, scale 1): requantization scale
  // 0.03125 / 0.0625 = 0.5, so odd inputs are exact ties (TFLite: towards +inf,
  // XNNPACK: to even). The others are random.
  std::vector<int8_t> weights = RandomWeights(kOut * kDepth, 5);
  std::vector<float> w_scales;
  for (int o = 0; o < kOut; ++o) {
    if (o < 4) {
      std::fill_n(weights.begin() + o * kDepth, kDepth, int8_t{0});
      weights[static_cast<size_t>(o * kDepth + o)] = 1;
      w_scales.push_back(1.0f);
    } else {
      w_scales.push_back(0.0013f + 0.00071f * static_cast<float>(o));
    }
  }
  const int w = g.Const("w", DType::kInt8, {kOut, kDepth}, weights);
  g.sg().tensors[w].quant.scale = w_scales;
  g.sg().tensors[w].quant.zero_point.assign(kOut, 0);
  std::vector<int32_t> bias(kOut);
  for (int o = 4; o < kOut; ++o) bias[static_cast<size_t>(o)] = 997 * (o % 7) - 3000;
  const int b = g.Const("b", DType::kInt32, {kOut}, bias);
  for (float s : w_scales) g.sg().tensors[b].quant.scale.push_back(0.03125f * s);
  g.sg().tensors[b].quant.zero_point.assign(kOut, 0);
  const int out = Int8Tensor(g, "fc_q", {kRows, kOut}, 0.0625f, 2);
  g.Op(OpCode::kFullyConnected, {xq, w, b}, {out}, graph::FullyConnectedOptions{});
  DequantizedOutput(g, "fc", out);
  ExpectXnnpackModeEqual(*g.model(), "fc_int8.tflite",
                         {conformance::MakeFloat32Tensor("x", {kRows, kDepth},
                                                         Uniform(kRows * kDepth, -1.0f, 1.0f, 9))},
                         {"fc"});
}

// Hybrid FULLY_CONNECTED with symmetric and asymmetric input quantization requested:
// XNNPACK quantizes asymmetrically either way.
TEST(LiteRtXnnpackConformance, HybridFullyConnectedEqualsLiteRt) {
  LITEQ_REQUIRE_LITERT();
  GraphBuilder g;
  g.BeginSignature("serving_default");
  const int x = g.Input("x", DType::kFloat32, {kRows, kDepth});
  const int w = g.Const("w", DType::kInt8, {kOut, kDepth}, RandomWeights(kOut * kDepth, 6));
  std::vector<float> w_scales, bias;
  for (int o = 0; o < kOut; ++o) {
    w_scales.push_back(0.002f + 0.0003f * static_cast<float>(o));
    bias.push_back(0.1f * static_cast<float>(o % 5) - 0.2f);
  }
  g.sg().tensors[w].quant.scale = w_scales;
  g.sg().tensors[w].quant.zero_point.assign(kOut, 0);
  const int b = g.ConstF("bias", {kOut}, bias);
  for (bool asymmetric : {false, true}) {
    const std::string name = asymmetric ? "hybrid_asym" : "hybrid_sym";
    const int h = g.Tensor(name + "_out", DType::kFloat32, {kRows, kOut});
    graph::FullyConnectedOptions opts;
    opts.asymmetric_quantize_inputs = asymmetric;
    g.Op(OpCode::kFullyConnected, {x, w, b}, {h}, opts);
    g.Output(name, h);
  }
  // Rows of mixed sign, all positive, all negative, and a zero row.
  std::vector<float> xv = Uniform(kRows * kDepth, -3.0f, 2.0f, 13);
  for (int d = 0; d < kDepth; ++d) {
    xv[static_cast<size_t>(kDepth + d)] = std::abs(xv[static_cast<size_t>(kDepth + d)]);
    xv[static_cast<size_t>(2 * kDepth + d)] = -std::abs(xv[static_cast<size_t>(2 * kDepth + d)]);
    xv[static_cast<size_t>(3 * kDepth + d)] = 0.0f;
  }
  const std::vector<conformance::LiteRtTensor> inputs = {
      conformance::MakeFloat32Tensor("x", {kRows, kDepth}, xv)};
  const Outputs xnnpack = RunBoth(*g.model(), "xnn_hybrid.tflite", inputs,
                                  {.int8_arithmetic = runtime::Int8Arithmetic::kXnnpack});
  const Outputs reference = RunBoth(*g.model(), "ref_hybrid.tflite", inputs);
  ASSERT_EQ(xnnpack.size(), 2u);
  ASSERT_EQ(reference.size(), 2u);
  for (const char* name : {"hybrid_sym", "hybrid_asym"}) {
    EXPECT_EQ(xnnpack.at(name).liteq, xnnpack.at(name).litert) << name;
    int differ = 0;
    for (size_t i = 0; i < reference.at(name).liteq.size(); ++i) {
      differ += reference.at(name).liteq[i] != reference.at(name).litert[i];
    }
    std::printf("[ hybrid ] %s: default mode differs from LiteRT in %d of %zu\n", name, differ,
                reference.at(name).liteq.size());
    if (std::string(name) == "hybrid_sym") {
      EXPECT_GT(differ, 0);
    }
  }
}

}  // namespace
}  // namespace liteq::e2e
