// `liteq inspect`'s analysis on hand-built graphs whose answers are known: compute
// classes (float, weight-only via DEQUANTIZE, hybrid, integer, conversion), constant
// bytes, tensor matching, metadata, and the diff between a float and a rewritten model.
#include "eval/tflite_summary.h"

#include <gtest/gtest.h>

#include "eval/tflite_diff.h"

namespace liteq::eval {
namespace {

using graph::DType;
using graph::OpCode;

int32_t AddTensor(graph::Subgraph& sg, std::string name, DType dtype, std::vector<int32_t> shape,
                  uint32_t buffer = 0) {
  graph::Tensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.buffer = buffer;
  sg.tensors.push_back(std::move(t));
  return static_cast<int32_t>(sg.tensors.size() - 1);
}

void AddOp(graph::Subgraph& sg, OpCode code, std::vector<int32_t> inputs,
           std::vector<int32_t> outputs) {
  graph::Op op;
  op.code = code;
  op.inputs = std::move(inputs);
  op.outputs = std::move(outputs);
  if (code == OpCode::kFullyConnected) op.options = graph::FullyConnectedOptions{};
  sg.ops.push_back(std::move(op));
}

// One subgraph with a FULLY_CONNECTED of every kind.
graph::Model MixedModel() {
  graph::Model m;
  graph::Subgraph sg;
  sg.name = "main";
  const uint32_t w_int8_buf = m.AddBuffer(graph::Buffer::FromValues(std::vector<int8_t>(8, 1)));
  const uint32_t w_deq_buf = m.AddBuffer(graph::Buffer::FromValues(std::vector<int8_t>(8, 2)));
  const uint32_t bias_buf = m.AddBuffer(graph::Buffer::FromValues(std::vector<int32_t>(2, 0)));
  const int32_t x = AddTensor(sg, "x", DType::kFloat32, {1, 4});
  const int32_t w_int8 = AddTensor(sg, "w_int8", DType::kInt8, {2, 4}, w_int8_buf);
  sg.tensors[w_int8].quant.scale = {0.1f, 0.2f};
  sg.tensors[w_int8].quant.zero_point = {0, 0};
  const int32_t w_q = AddTensor(sg, "w_q", DType::kInt8, {2, 4}, w_deq_buf);
  sg.tensors[w_q].quant.scale = {0.5f};
  sg.tensors[w_q].quant.zero_point = {0};
  const int32_t w_deq = AddTensor(sg, "w_deq", DType::kFloat32, {2, 4});
  const int32_t bias = AddTensor(sg, "bias", DType::kInt32, {2}, bias_buf);
  const int32_t y_hybrid = AddTensor(sg, "y_hybrid", DType::kFloat32, {1, 2});
  const int32_t y_float = AddTensor(sg, "y_float", DType::kFloat32, {1, 2});
  const int32_t xq = AddTensor(sg, "xq", DType::kInt8, {1, 4});
  const int32_t y_int = AddTensor(sg, "y_int", DType::kInt8, {1, 2});
  AddOp(sg, OpCode::kDequantize, {w_q}, {w_deq});
  AddOp(sg, OpCode::kFullyConnected, {x, w_int8, -1}, {y_hybrid});
  AddOp(sg, OpCode::kFullyConnected, {x, w_deq, -1}, {y_float});
  AddOp(sg, OpCode::kQuantize, {x}, {xq});
  AddOp(sg, OpCode::kFullyConnected, {xq, w_int8, bias}, {y_int});
  sg.inputs = {x};
  sg.outputs = {y_hybrid, y_float, y_int};
  m.subgraphs.push_back(std::move(sg));
  graph::Signature sig;
  sig.key = "run";
  sig.inputs = {{"x", x}};
  sig.outputs = {{"y", y_float}};
  m.signatures.push_back(sig);
  m.metadata["liteq.quantization"] = R"({"recipe":"test","granularity":"channel"})";
  m.metadata["min_runtime_version"] = std::string("1.5\0\0", 5);
  return m;
}

TEST(TfliteSummaryTest, ClassifiesOpsByTheirOperandDtypes) {
  const ModelSummary s = SummarizeModel(MixedModel());
  EXPECT_EQ(s.op_counts.at("FULLY_CONNECTED"), 3);
  EXPECT_EQ(s.op_dtype_counts.at("FULLY_CONNECTED float32 x int8 -> float32"), 1);
  EXPECT_EQ(s.op_dtype_counts.at("FULLY_CONNECTED float32 x int8(deq) -> float32"), 1);
  // The int32 bias is not a main operand.
  EXPECT_EQ(s.op_dtype_counts.at("FULLY_CONNECTED int8 x int8 -> int8"), 1);
  EXPECT_EQ(s.compute_class_counts.at("hybrid"), 1);
  EXPECT_EQ(s.compute_class_counts.at("float"), 1);
  EXPECT_EQ(s.compute_class_counts.at("integer"), 1);
  EXPECT_EQ(s.compute_class_counts.at("conversion"), 2);  // DEQUANTIZE, QUANTIZE
  EXPECT_EQ(s.float_op_counts.size(), 1u);
  EXPECT_EQ(s.float_op_counts.at("FULLY_CONNECTED"), 1);
  EXPECT_EQ(s.constant_bytes.at("int8"), 16u);
  EXPECT_EQ(s.constant_bytes.at("int32"), 8u);
  EXPECT_EQ(s.total_constant_bytes, 24u);
  ASSERT_EQ(s.signatures.size(), 1u);
  EXPECT_EQ(s.signatures[0].subgraph, "main");
  ASSERT_EQ(s.signatures[0].inputs.size(), 1u);
  EXPECT_EQ(s.signatures[0].inputs[0].dtype, "float32");
  EXPECT_EQ(s.signatures[0].inputs[0].shape, (std::vector<int32_t>{1, 4}));
}

TEST(TfliteSummaryTest, MatchesTensorsAndDescribesTheirQuantization) {
  const ModelSummary s = SummarizeModel(MixedModel());
  auto matched = MatchTensors(s, "^w_");
  ASSERT_TRUE(matched.ok()) << matched.status().ToString();
  ASSERT_EQ(matched->size(), 3u);  // w_int8, w_q, w_deq
  EXPECT_EQ((*matched)[0].name, "w_int8");
  EXPECT_EQ((*matched)[0].scale_count, 2u);
  EXPECT_FLOAT_EQ((*matched)[0].scale_min, 0.1f);
  EXPECT_FLOAT_EQ((*matched)[0].scale_max, 0.2f);
  EXPECT_NE(QuantizationText((*matched)[0]).find("2 scales"), std::string::npos);
  EXPECT_EQ(QuantizationText((*matched)[1]), "scale 0.5 zp 0");
  EXPECT_EQ((*matched)[2].dequantized_from, "int8");
  EXPECT_EQ(QuantizationText((*matched)[2]), "");
  auto bad = MatchTensors(s, "(unclosed");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("(unclosed"), std::string::npos);
}

TEST(TfliteSummaryTest, JsonHasTheDocumentedKeysAndParsedMetadata) {
  const ModelSummary s = SummarizeModel(MixedModel());
  const nlohmann::json j = SummaryToJson(s, &s.tensors);
  for (const char* key :
       {"subgraphs", "signatures", "op_counts", "op_dtype_counts", "compute_class_counts",
        "float_op_counts", "constant_bytes", "total_constant_bytes", "metadata", "tensors"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["metadata"]["liteq.quantization"]["recipe"], "test");
  EXPECT_EQ(j["metadata"]["min_runtime_version"], "<5 bytes, not text>");
  EXPECT_EQ(j["tensors"].size(), s.tensors.size());
  EXPECT_TRUE(j["tensors"][0]["quantization"].is_null());  // x
  EXPECT_EQ(j["tensors"][1]["quantization"]["scale_count"], 2);
  // Deeply nested text is not handed to the parser.
  EXPECT_TRUE(MetadataValueJson(std::string(100000, '[')).is_string());
}

// A float FULLY_CONNECTED, and the same graph after a weight-only rewrite (the weight
// becomes DEQUANTIZE of an int8 constant) or a full-integer one.
graph::Model FcModel(const std::string& variant) {
  graph::Model m;
  graph::Subgraph sg;
  sg.name = "main";
  const bool integer = variant == "integer";
  const DType act = integer ? DType::kInt8 : DType::kFloat32;
  const int32_t x = AddTensor(sg, "x", act, {1, 4});
  const int32_t y = AddTensor(sg, "y", act, {1, 2});
  int32_t w;
  if (variant == "float") {
    w = AddTensor(sg, "w", DType::kFloat32, {2, 4},
                  m.AddBuffer(graph::Buffer::FromValues(std::vector<float>(8, 1.0f))));
  } else {
    const uint32_t buf = m.AddBuffer(graph::Buffer::FromValues(std::vector<int8_t>(8, 1)));
    const int32_t q = AddTensor(sg, integer ? "w" : "w.int8", DType::kInt8, {2, 4}, buf);
    sg.tensors[q].quant.scale = {0.25f};
    sg.tensors[q].quant.zero_point = {0};
    w = q;
    if (!integer) {
      w = AddTensor(sg, "w", DType::kFloat32, {2, 4});
      AddOp(sg, OpCode::kDequantize, {q}, {w});
    }
  }
  AddOp(sg, OpCode::kFullyConnected, {x, w, -1}, {y});
  m.subgraphs.push_back(std::move(sg));
  return m;
}

TEST(TfliteDiffTest, WeightOnlyRewriteShowsTheDequantizedWeight) {
  const ModelDiff d =
      DiffModels(SummarizeModel(FcModel("float")), SummarizeModel(FcModel("weight_only")));
  ASSERT_EQ(d.changed_tensors.size(), 1u);
  EXPECT_EQ(d.changed_tensors[0].key, "main/w");
  EXPECT_TRUE(d.changed_tensors[0].storage_changed);
  EXPECT_FALSE(d.changed_tensors[0].dtype_changed);
  EXPECT_EQ(d.changed_tensors[0].after, "float32 [2, 4] DEQUANTIZE of int8 constant");
  EXPECT_EQ(d.only_in_second, std::vector<std::string>{"main/w.int8"});
  EXPECT_EQ(d.only_in_second_kinds.at("int8 constant"), 1);
  EXPECT_TRUE(d.only_in_first.empty());
  EXPECT_EQ(d.op_count_changes.at("DEQUANTIZE"), std::make_pair(0, 1));
  EXPECT_EQ(d.ops_only_in_second.at("DEQUANTIZE"), 1);
  EXPECT_EQ(d.matched_ops, 1);
  EXPECT_EQ(d.input_dtype_changes.at("FULLY_CONNECTED input 1: float32 -> int8(deq)"), 1);
  EXPECT_TRUE(d.compute_class_moves.empty());  // still computes in float
}

TEST(TfliteDiffTest, IntegerRewriteMovesTheOpOutOfFloat) {
  const ModelDiff d =
      DiffModels(SummarizeModel(FcModel("float")), SummarizeModel(FcModel("integer")));
  EXPECT_EQ(d.compute_class_moves.at("FULLY_CONNECTED: float -> integer"), 1);
  ASSERT_EQ(d.changed_ops.size(), 1u);
  EXPECT_EQ(d.changed_ops[0].dtypes_before, "float32 x float32 -> float32");
  EXPECT_EQ(d.changed_ops[0].dtypes_after, "int8 x int8 -> int8");
  // x, y and w all changed dtype; w also gained quantization parameters.
  EXPECT_EQ(d.changed_tensors.size(), 3u);
  const nlohmann::json j = DiffToJson(d);
  for (const char* key : {"changed_tensors", "only_in_first", "only_in_second", "op_count_changes",
                          "changed_ops", "compute_class_moves", "input_dtype_changes",
                          "ops_only_in_first", "ops_only_in_second", "matched_ops"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

TEST(TfliteDiffTest, AModelDiffedWithItselfHasNoChanges) {
  const ModelSummary s = SummarizeModel(MixedModel());
  const ModelDiff d = DiffModels(s, s);
  EXPECT_TRUE(d.changed_tensors.empty());
  EXPECT_TRUE(d.only_in_first.empty());
  EXPECT_TRUE(d.only_in_second.empty());
  EXPECT_TRUE(d.op_count_changes.empty());
  EXPECT_TRUE(d.changed_ops.empty());
  EXPECT_EQ(d.matched_ops, 5);
}

}  // namespace
}  // namespace liteq::eval
