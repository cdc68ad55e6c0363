// The static (full-integer) rewrite on a hand-built graph with hand-set ranges:
// which ops become integer, which parameters each tensor gets (from its range, fixed
// by the op, or propagated), where QUANTIZE/DEQUANTIZE appear, and the errors.
#include "quant/static_quantizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "graph/builder.h"
#include "runtime/kernels/quantized/elementwise_int.h"

namespace liteq::quant {
namespace {

using graph::DType;
using graph::OpCode;

// x [1,4] -> FC(w [3,4], bias) -> "fc" -> RESHAPE [3] -> "flat" -> SOFTMAX -> "probs"
//   "fc" -> SIN (no integer kernel) -> "sin" -> CONCAT("fc", "sin") -> "joined"
// Outputs: probs, joined.
struct Fixture {
  graph::Model model;
  ActivationRanges ranges;

  Fixture() {
    graph::GraphBuilder b(model);
    b.BeginSubgraph("main");
    const auto x = b.Input("x", DType::kFloat32, {1, 4});
    const auto w = b.ConstFloat({0.5f, -1.0f, 0.25f, 0.0f,  //
                                 2.0f, 1.0f, -0.5f, 0.75f,  //
                                 -0.1f, 0.2f, 0.3f, -0.4f},
                                {3, 4}, "w");
    const auto bias = b.ConstFloat({0.1f, -0.2f, 0.05f}, {3}, "bias");
    const auto fc = b.FullyConnected(x, w, bias, true, "fc");
    const auto flat = b.Reshape(fc, {3}, "flat");
    const auto probs = b.Softmax(flat, 1.0f, "probs");
    const auto sin = b.Sin(fc, "sin");
    const auto joined = b.Concat({fc, sin}, 1, "joined");
    b.MarkOutput(probs);
    b.MarkOutput(joined);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    graph::Signature sig;
    sig.key = "main";
    sig.subgraph = 0;
    sig.inputs = {{"x", x}};
    sig.outputs = {{"probs", probs}, {"joined", joined}};
    model.signatures.push_back(sig);
    ranges["x"] = {-2.0f, 2.0f, false, -2.0f, 2.0f};
    ranges["fc"] = {-3.0f, 5.0f, false, -3.0f, 5.0f};
    ranges["flat"] = {-3.0f, 5.0f, false, -3.0f, 5.0f};
    ranges["probs"] = {0.0f, 1.0f, false, 0.0f, 1.0f};
    ranges["sin"] = {-1.0f, 1.0f, false, -1.0f, 1.0f};
    ranges["joined"] = {-5.0f, 5.0f, false, -5.0f, 5.0f};
  }

  const graph::Subgraph& sg() const { return model.subgraphs[0]; }
  const graph::Tensor& Named(const std::string& name) const {
    for (const auto& t : sg().tensors) {
      if (t.name == name) return t;
    }
    ADD_FAILURE() << "no tensor " << name;
    static graph::Tensor none;
    return none;
  }
  int Count(OpCode code) const {
    int n = 0;
    for (const auto& op : sg().ops) n += op.code == code;
    return n;
  }
  const graph::Op* Producer(const std::string& name) const {
    for (const auto& op : sg().ops) {
      for (int32_t t : op.outputs) {
        if (sg().tensors[t].name == name) return &op;
      }
    }
    return nullptr;
  }
};

TEST(StaticQuantizerTest, AssignsParametersByRule) {
  Fixture f;
  auto report = QuantizeStatic(f.model, f.ranges, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();

  // FC output: asymmetric int8 from its range [-3, 5]: scale 8/255.
  const graph::Tensor& fc = f.Named("fc");
  EXPECT_EQ(fc.dtype, DType::kInt8);
  ASSERT_EQ(fc.quant.scale.size(), 1u);
  EXPECT_FLOAT_EQ(fc.quant.scale[0], 8.0f / 255.0f);
  // zero point: -128 - (-3 / scale) = -128 + 95.625 -> -32
  EXPECT_EQ(fc.quant.zero_point[0], -32);
  // RESHAPE propagates; SOFTMAX output is fixed at 1/256, -128.
  EXPECT_EQ(f.Named("flat").quant.scale, fc.quant.scale);
  EXPECT_EQ(f.Named("flat").quant.zero_point, fc.quant.zero_point);
  EXPECT_FLOAT_EQ(f.Named("probs").quant.scale[0], 1.0f / 256.0f);
  EXPECT_EQ(f.Named("probs").quant.zero_point[0], -128);

  // Weights: int8 symmetric per output channel; bias int32 at input * weight scale.
  const graph::Op* fc_op = f.Producer("fc");
  ASSERT_NE(fc_op, nullptr);
  const graph::Tensor& w = f.sg().tensors[fc_op->inputs[1]];
  EXPECT_EQ(w.dtype, DType::kInt8);
  ASSERT_EQ(w.quant.scale.size(), 3u);
  EXPECT_FLOAT_EQ(w.quant.scale[0], 1.0f / 127.0f);
  EXPECT_FLOAT_EQ(w.quant.scale[1], 2.0f / 127.0f);
  const graph::Tensor& bias = f.sg().tensors[fc_op->inputs[2]];
  EXPECT_EQ(bias.dtype, DType::kInt32);
  const graph::Tensor& x_q = f.sg().tensors[fc_op->inputs[0]];
  EXPECT_EQ(x_q.name, "x/quantized");
  EXPECT_FLOAT_EQ(bias.quant.scale[1], x_q.quant.scale[0] * w.quant.scale[1]);
  std::vector<uint8_t> scratch;
  auto bias_bytes = f.model.buffers[bias.buffer].Materialize(scratch);
  ASSERT_TRUE(bias_bytes.ok());
  const auto* b = reinterpret_cast<const int32_t*>(bias_bytes->data());
  EXPECT_EQ(b[1], static_cast<int32_t>(std::round(-0.2 / bias.quant.scale[1])));

  // SIN has no integer kernel: it reads a DEQUANTIZE of "fc" and its output is
  // quantized for CONCATENATION with the concatenation's (shared) parameters.
  EXPECT_EQ(f.Named("sin").dtype, DType::kFloat32);
  const graph::Tensor& neg_q = f.Named("sin/quantized");
  const graph::Tensor& joined = f.Named("joined");
  EXPECT_EQ(neg_q.quant.scale, joined.quant.scale);
  EXPECT_EQ(joined.quant.scale, fc.quant.scale) << "CONCATENATION takes its integer input's params";
  ASSERT_EQ(report->float_op_list.size(), 1u);
  EXPECT_EQ(report->float_op_list[0].op, "SIN 'sin'");

  // Signature tensors stay float32: x is quantized, both outputs dequantized.
  for (const auto& [name, t] : f.model.signatures[0].outputs) {
    EXPECT_EQ(f.sg().tensors[t].dtype, DType::kFloat32) << name;
  }
  EXPECT_EQ(f.Count(OpCode::kQuantize), 2);    // x, sin
  EXPECT_EQ(f.Count(OpCode::kDequantize), 3);  // fc (for SIN), probs, joined
  // The float weights are gone from the model.
  for (const auto& t : f.sg().tensors) {
    EXPECT_FALSE(t.buffer != 0 && t.dtype == DType::kFloat32) << t.name;
  }
}

TEST(StaticQuantizerTest, FloatOpsRegexKeepsOpsFloat) {
  Fixture f;
  auto report = QuantizeStatic(f.model, f.ranges, {.float_ops = "^RESHAPE$"});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(f.Named("flat").dtype, DType::kFloat32);
  EXPECT_EQ(f.Named("probs").dtype, DType::kInt8);
  EXPECT_EQ(report->float_ops.at("RESHAPE"), 1);
  // "flat" is float now, so SOFTMAX reads a quantized copy with flat's own range.
  EXPECT_FLOAT_EQ(f.Named("flat/quantized").quant.scale[0], 8.0f / 255.0f);
}

TEST(StaticQuantizerTest, ConcatInputsWithOtherParamsAreRequantized) {
  graph::Model model;
  graph::GraphBuilder b(model);
  b.BeginSubgraph("main");
  const auto x = b.Input("x", DType::kFloat32, {1, 2});
  const auto a = b.FullyConnected(x, b.ConstFloat({1, 0, 0, 1}, {2, 2}, "wa"), -1, true, "a");
  const auto c_id = b.FullyConnected(x, b.ConstFloat({2, 0, 0, 2}, {2, 2}, "wc"), -1, true, "c");
  const auto out = b.Concat({a, c_id}, 1, "out");
  b.MarkOutput(out);
  ASSERT_TRUE(b.ok());
  model.signatures.push_back({"main", 0, {{"x", x}}, {{"out", out}}});
  ActivationRanges ranges;
  ranges["x"] = {-1, 1, false, -1, 1};
  ranges["a"] = {-1, 1, false, -1, 1};
  ranges["c"] = {-4, 4, false, -4, 4};
  ranges["out"] = {-4, 4, false, -4, 4};
  auto report = QuantizeStatic(model, ranges, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const graph::Subgraph& sg = model.subgraphs[0];
  const graph::Tensor* c_tensor = nullptr;  // indices were renumbered by pruning
  for (const auto& t : sg.tensors) {
    if (t.name == "c") c_tensor = &t;
  }
  ASSERT_NE(c_tensor, nullptr);
  EXPECT_EQ(c_tensor->dtype, DType::kInt8);
  int requantized = 0;
  for (const graph::Op& op : sg.ops) {
    if (op.code != OpCode::kQuantize || sg.tensors[op.inputs[0]].dtype != DType::kInt8) continue;
    ++requantized;
    EXPECT_EQ(sg.tensors[op.outputs[0]].name, "a/requantized");
    EXPECT_EQ(sg.tensors[op.outputs[0]].quant.scale, c_tensor->quant.scale);
  }
  EXPECT_EQ(requantized, 1) << "only the input whose parameters differ is requantized";
}

TEST(StaticQuantizerTest, StrictListsFloatOps) {
  Fixture f;
  auto report = QuantizeStatic(f.model, f.ranges, {.strict = true});
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("SIN 'sin'"), std::string::npos)
      << report.status().ToString();
  EXPECT_NE(report.status().message().find("no integer kernel for SIN"), std::string::npos);
}

TEST(StaticQuantizerTest, MissingRangeNamesTheTensor) {
  Fixture f;
  f.ranges.erase("fc");
  auto report = QuantizeStatic(f.model, f.ranges, {});
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("'fc'"), std::string::npos)
      << report.status().ToString();
}

TEST(StaticQuantizerTest, Int16ActivationsAreSymmetricWithInt64Bias) {
  Fixture f;
  auto report = QuantizeStatic(f.model, f.ranges, {.activations = ActivationType::kInt16});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const graph::Tensor& fc = f.Named("fc");
  EXPECT_EQ(fc.dtype, DType::kInt16);
  EXPECT_EQ(fc.quant.zero_point[0], 0);
  EXPECT_FLOAT_EQ(fc.quant.scale[0], 5.0f / 32767.0f);
  EXPECT_FLOAT_EQ(f.Named("probs").quant.scale[0], 1.0f / 32768.0f);
  const graph::Op* fc_op = f.Producer("fc");
  EXPECT_EQ(f.sg().tensors[fc_op->inputs[2]].dtype, DType::kInt64);
  EXPECT_EQ(f.sg().tensors[fc_op->inputs[1]].dtype, DType::kInt8);
}

// Attention as the model builds it: masked_scores = ADD(scores, mask) -> SOFTMAX over
// 64 keys, the mask holding 0 (visible) or the float minimum (hidden).
struct MaskedSoftmax {
  graph::Model model;
  ActivationRanges ranges;

  MaskedSoftmax() {
    graph::GraphBuilder b(model);
    b.BeginSubgraph("main");
    const auto scores = b.Input("scores", DType::kFloat32, {1, 4, 64});
    const auto mask = b.Input("mask", DType::kFloat32, {4, 64});
    const auto masked = b.Add(scores, mask, "masked_scores");
    const auto probs = b.Softmax(masked, 1.0f, "probs");
    b.MarkOutput(probs);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    model.signatures.push_back({.key = "main",
                                .subgraph = 0,
                                .inputs = {{"scores", scores}, {"mask", mask}},
                                .outputs = {{"probs", probs}}});
    // The scores' calibrated top is above the masked scores' one (other observers
    // or rows): the mask must saturate those too.
    ranges["scores"] = {-5.0f, 8.0f, false, -5.0f, 8.0f};
    ranges["mask"] = {0.0f, 0.0f, true, 0.0f, 0.0f};
    ranges["masked_scores"] = {-5.0f, 6.0f, true, -5.0f, 6.0f};
    ranges["probs"] = {0.0f, 1.0f, false, 0.0f, 1.0f};
  }
  const graph::Tensor& Named(const std::string& name) const {
    for (const auto& t : model.subgraphs[0].tensors) {
      if (t.name == name) return t;
    }
    ADD_FAILURE() << "no tensor " << name;
    static graph::Tensor none;
    return none;
  }
};

TEST(StaticQuantizerTest, SoftmaxInputFloorLeavesHiddenKeysNegligible) {
  MaskedSoftmax f;
  auto report = QuantizeStatic(f.model, f.ranges, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const graph::Tensor& masked = f.Named("masked_scores");
  ASSERT_EQ(masked.dtype, DType::kInt8);
  const double s = masked.quant.scale[0];
  const double top = (127 - masked.quant.zero_point[0]) * s;
  const double floor = (-128 - masked.quant.zero_point[0]) * s;
  // The top stays the calibrated maximum; the floor sits ln(64) + 13 below it, so the
  // 64 keys at the floor weigh at most e^-13 of one key at the top (the calibrated
  // floor, -5, would give them 64 * e^-11 = 1e-3).
  EXPECT_NEAR(top, 6.0, s);
  EXPECT_NEAR(top - floor, std::log(64.0) + 13.0, s);
  EXPECT_LE(64 * std::exp(floor - top), std::exp(-13.0) * 1.05);
  EXPECT_FLOAT_EQ(f.Named("probs").quant.scale[0], 1.0f / 256);
  EXPECT_EQ(f.Named("probs").quant.zero_point[0], -128);
}

TEST(StaticQuantizerTest, MaskSaturatesEveryScoreAndKeepsVisibleKeysExact) {
  MaskedSoftmax f;
  auto report = QuantizeStatic(f.model, f.ranges, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const graph::Tensor& scores = f.Named("scores/quantized");
  const graph::Tensor& mask = f.Named("mask/quantized");
  const graph::Tensor& masked = f.Named("masked_scores");
  ASSERT_EQ(mask.dtype, DType::kInt8);
  EXPECT_EQ(mask.quant.zero_point[0], 127) << "a visible key's 0 is the zero point";
  // The scores are quantized with the masked scores' parameters (one rounding).
  EXPECT_EQ(scores.quant.scale, masked.quant.scale);
  EXPECT_EQ(scores.quant.zero_point, masked.quant.zero_point);
  using runtime::quantized::IntType;
  auto add = runtime::quantized::PrepareAddSub(
      IntType::kInt8, {scores.quant.scale[0], static_cast<int32_t>(scores.quant.zero_point[0])},
      {mask.quant.scale[0], static_cast<int32_t>(mask.quant.zero_point[0])},
      {masked.quant.scale[0], static_cast<int32_t>(masked.quant.zero_point[0])},
      runtime::quantized::FusedActivation::kNone, false);
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  // The float minimum quantizes to -128; with it every score lands exactly on -128.
  for (int q = -128; q <= 127; ++q) {
    EXPECT_EQ(runtime::quantized::AddSubElement(*add, q, -128), -128) << "score q " << q;
  }
  // A visible key's masked score is the score requantized (within one step).
  for (int q = -128; q <= 127; ++q) {
    const double real = (q - scores.quant.zero_point[0]) * scores.quant.scale[0];
    const double expected = std::clamp(
        std::round(real / masked.quant.scale[0]) + masked.quant.zero_point[0], -128.0, 127.0);
    EXPECT_NEAR(runtime::quantized::AddSubElement(*add, q, 127), expected, 1.0) << q;
  }
}

TEST(StaticQuantizerTest, BadRegexIsAnError) {
  Fixture f;
  auto report = QuantizeStatic(f.model, f.ranges, {.float_ops = "(("});
  ASSERT_FALSE(report.ok());
}

}  // namespace
}  // namespace liteq::quant
