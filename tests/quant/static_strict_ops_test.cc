// Ops that static_int8_strict needs on Gemma-style graphs: NEG (RoPE's -sin, as a
// MUL by -1) and SELECT_V2 (masks) run on int8 with the parameters TFLite requires.
#include <gtest/gtest.h>

#include "graph/builder.h"
#include "quant/quant_params.h"
#include "quant/static_quantizer.h"

namespace liteq::quant {
namespace {

using graph::DType;
using graph::OpCode;

// x -> NEG -> "neg";  keep ? 1.5 : -0.5 -> "select";  ADD -> "sum".
struct StrictFixture {
  graph::Model model;
  ActivationRanges ranges;

  StrictFixture() {
    graph::GraphBuilder b(model);
    b.BeginSubgraph("main");
    const auto x = b.Input("x", DType::kFloat32, {1, 4});
    const auto neg = b.Neg(x, "neg");
    // A bool condition from elsewhere (in the models: int32 position comparisons).
    const auto positive = b.Input("keep", DType::kBool, {1, 4});
    const auto select = b.SelectV2(positive, b.ScalarFloat(1.5f), b.ScalarFloat(-0.5f), "select");
    const auto sum = b.Add(neg, select, "sum");
    b.MarkOutput(sum);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    model.signatures.push_back({"main", 0, {{"x", x}, {"keep", positive}}, {{"sum", sum}}});
    ranges["x"] = {-1.0f, 3.0f, false, -1.0f, 3.0f};
    ranges["neg"] = {-3.0f, 1.0f, false, -3.0f, 1.0f};
    ranges["select"] = {-0.5f, 1.5f, false, -0.5f, 1.5f};
    ranges["sum"] = {-3.5f, 2.5f, false, -3.5f, 2.5f};
  }
  const graph::Subgraph& sg() const { return model.subgraphs[0]; }
  const graph::Op* Find(OpCode code) const {
    for (const auto& op : sg().ops) {
      if (op.code == code) return &op;
    }
    return nullptr;
  }
};

TEST(StaticStrictOpsTest, NegAndSelectRunOnInt8) {
  StrictFixture f;
  auto report = QuantizeStatic(f.model, f.ranges, {.strict = true});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->float_op_list.empty());

  // NEG runs as MUL(x, -1): the constant is int8 with scale 1/255, zero point 127,
  // q = -128 (exactly -1); the output keeps the calibrated range of "neg" [-3, 1]:
  // scale 4/255, zero point round(-128 + 3 / (4/255)) = 63.
  EXPECT_EQ(f.Find(OpCode::kNeg), nullptr);
  const graph::Op* mul = f.Find(OpCode::kMul);
  ASSERT_NE(mul, nullptr);
  const graph::Tensor& minus_one = f.sg().tensors[mul->inputs[1]];
  ASSERT_EQ(minus_one.dtype, DType::kInt8);
  EXPECT_FLOAT_EQ(minus_one.quant.scale[0], 1.0f / 255.0f);
  EXPECT_EQ(minus_one.quant.zero_point[0], 127);
  std::vector<uint8_t> scratch1;
  auto minus_one_bytes = f.model.buffers[minus_one.buffer].Materialize(scratch1);
  ASSERT_TRUE(minus_one_bytes.ok());
  EXPECT_EQ(static_cast<int8_t>((*minus_one_bytes)[0]), -128);
  const graph::Tensor& out = f.sg().tensors[mul->outputs[0]];
  EXPECT_EQ(out.name, "neg");
  EXPECT_EQ(out.dtype, DType::kInt8);
  EXPECT_FLOAT_EQ(out.quant.scale[0], 4.0f / 255.0f);
  EXPECT_EQ(out.quant.zero_point[0], 63);

  const graph::Op* select = f.Find(OpCode::kSelectV2);
  ASSERT_NE(select, nullptr);
  EXPECT_EQ(f.sg().tensors[select->inputs[0]].dtype, DType::kBool);
  const graph::Tensor& sel_out = f.sg().tensors[select->outputs[0]];
  ASSERT_EQ(sel_out.dtype, DType::kInt8);
  // Both operands share the output's parameters (TFLite select.cc copies values):
  // select in [-0.5, 1.5]: scale 2/255, zero point round(-128 + 0.5 / (2/255)) = -64;
  // 1.5 -> 127, -0.5 -> -128.
  EXPECT_FLOAT_EQ(sel_out.quant.scale[0], 2.0f / 255.0f);
  EXPECT_EQ(sel_out.quant.zero_point[0], -64);
  const int8_t expected[] = {127, -128};
  for (int slot : {1, 2}) {
    const graph::Tensor& c = f.sg().tensors[select->inputs[slot]];
    EXPECT_EQ(c.dtype, DType::kInt8);
    EXPECT_EQ(c.quant.scale, sel_out.quant.scale);
    EXPECT_EQ(c.quant.zero_point, sel_out.quant.zero_point);
    std::vector<uint8_t> scratch;
    auto bytes = f.model.buffers[c.buffer].Materialize(scratch);
    ASSERT_TRUE(bytes.ok());
    ASSERT_EQ(bytes->size(), 1u);
    EXPECT_EQ(static_cast<int8_t>((*bytes)[0]), expected[slot - 1]);
  }
  // Only the model input and output convert (strict).
  int quantize = 0, dequantize = 0;
  for (const auto& op : f.sg().ops) {
    quantize += op.code == OpCode::kQuantize;
    dequantize += op.code == OpCode::kDequantize;
  }
  EXPECT_EQ(quantize, 1);
  EXPECT_EQ(dequantize, 1);
}

TEST(StaticStrictOpsTest, FloatOpsRegexKeepsNegAsNeg) {
  StrictFixture f;
  auto report = QuantizeStatic(f.model, f.ranges, {.strict = true, .float_ops = "NEG"});
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("NEG 'neg': matches --float-ops"), std::string::npos)
      << report.status().ToString();
}

TEST(StaticStrictOpsTest, NonStrictKeepsNegInFloat) {
  // static_int8 leaves NEG float (integer_ops.h RewriteNegAsMul: LiteRT agreement);
  // SELECT_V2 is integer in both.
  StrictFixture f;
  auto report = QuantizeStatic(f.model, f.ranges, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_NE(f.Find(OpCode::kNeg), nullptr);
  ASSERT_EQ(report->float_op_list.size(), 1u);
  EXPECT_EQ(report->float_op_list[0].op, "NEG 'neg'");
  EXPECT_EQ(report->integer_ops.at("SELECT_V2"), 1);
}

TEST(StaticStrictOpsTest, Int16StrictAlsoSucceeds) {
  StrictFixture f;
  auto report =
      QuantizeStatic(f.model, f.ranges, {.activations = ActivationType::kInt16, .strict = true});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->integer_ops.at("SELECT_V2"), 1);
  EXPECT_EQ(report->integer_ops.at("MUL"), 1);
}

}  // namespace
}  // namespace liteq::quant
