// Write a hand-built graph::Model, read it back, compare every field.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "test_model.h"
#include "tflite/liteq_tflite_generated.h"
#include "tflite/reader.h"
#include "tflite/schema_info.h"
#include "tflite/writer.h"

namespace liteq::tflite {
namespace {

using testing::MakeTempDir;
using testing::MakeTestModel;
using testing::ReadBytes;

// Field-by-field equality of each options struct (graph.h defines no operator==).
bool Same(const graph::NoOptions&, const graph::NoOptions&) { return true; }
bool Same(const graph::FullyConnectedOptions& a, const graph::FullyConnectedOptions& b) {
  return a.activation == b.activation && a.keep_num_dims == b.keep_num_dims &&
         a.asymmetric_quantize_inputs == b.asymmetric_quantize_inputs;
}
bool Same(const graph::BinaryOptions& a, const graph::BinaryOptions& b) {
  return a.activation == b.activation;
}
bool Same(const graph::ConcatenationOptions& a, const graph::ConcatenationOptions& b) {
  return a.axis == b.axis && a.activation == b.activation;
}
bool Same(const graph::SoftmaxOptions& a, const graph::SoftmaxOptions& b) {
  return a.beta == b.beta;
}
bool Same(const graph::ReshapeOptions& a, const graph::ReshapeOptions& b) {
  return a.new_shape == b.new_shape;
}
bool Same(const graph::ReducerOptions& a, const graph::ReducerOptions& b) {
  return a.keep_dims == b.keep_dims;
}
bool Same(const graph::GatherOptions& a, const graph::GatherOptions& b) {
  return a.axis == b.axis && a.batch_dims == b.batch_dims;
}
bool Same(const graph::BatchMatMulOptions& a, const graph::BatchMatMulOptions& b) {
  return a.adj_x == b.adj_x && a.adj_y == b.adj_y &&
         a.asymmetric_quantize_inputs == b.asymmetric_quantize_inputs;
}
bool Same(const graph::StridedSliceOptions& a, const graph::StridedSliceOptions& b) {
  return a.begin_mask == b.begin_mask && a.end_mask == b.end_mask &&
         a.ellipsis_mask == b.ellipsis_mask && a.new_axis_mask == b.new_axis_mask &&
         a.shrink_axis_mask == b.shrink_axis_mask && a.offset == b.offset;
}
bool Same(const graph::GeluOptions& a, const graph::GeluOptions& b) {
  return a.approximate == b.approximate;
}
bool Same(const graph::SqueezeOptions& a, const graph::SqueezeOptions& b) {
  return a.squeeze_dims == b.squeeze_dims;
}
bool Same(const graph::CastOptions& a, const graph::CastOptions& b) {
  return a.in == b.in && a.out == b.out;
}
bool SameOptions(const graph::OpOptions& a, const graph::OpOptions& b) {
  if (a.index() != b.index()) return false;
  return std::visit([&](const auto& x) { return Same(x, std::get<std::decay_t<decltype(x)>>(b)); },
                    a);
}

std::vector<uint8_t> Bytes(const graph::Buffer& b) {
  std::vector<uint8_t> scratch;
  auto span = b.Materialize(scratch);
  EXPECT_TRUE(span.ok()) << span.status().ToString();
  if (!span.ok()) return {};
  return std::vector<uint8_t>(span->begin(), span->end());
}

void ExpectSameModel(const graph::Model& want, const graph::Model& got) {
  EXPECT_EQ(got.description, want.description);
  EXPECT_EQ(got.metadata, want.metadata);
  ASSERT_EQ(got.buffers.size(), want.buffers.size());
  for (size_t i = 0; i < want.buffers.size(); ++i) {
    EXPECT_EQ(Bytes(got.buffers[i]), Bytes(want.buffers[i])) << "buffer " << i;
  }
  ASSERT_EQ(got.subgraphs.size(), want.subgraphs.size());
  for (size_t s = 0; s < want.subgraphs.size(); ++s) {
    const graph::Subgraph& w = want.subgraphs[s];
    const graph::Subgraph& g = got.subgraphs[s];
    SCOPED_TRACE("subgraph " + std::to_string(s));
    EXPECT_EQ(g.name, w.name);
    EXPECT_EQ(g.inputs, w.inputs);
    EXPECT_EQ(g.outputs, w.outputs);
    ASSERT_EQ(g.tensors.size(), w.tensors.size());
    for (size_t i = 0; i < w.tensors.size(); ++i) {
      SCOPED_TRACE("tensor " + w.tensors[i].name);
      EXPECT_EQ(g.tensors[i].name, w.tensors[i].name);
      EXPECT_EQ(g.tensors[i].dtype, w.tensors[i].dtype);
      EXPECT_EQ(g.tensors[i].shape, w.tensors[i].shape);
      EXPECT_EQ(g.tensors[i].buffer, w.tensors[i].buffer);
      EXPECT_EQ(g.tensors[i].is_variable, w.tensors[i].is_variable);
      EXPECT_EQ(g.tensors[i].quant.scale, w.tensors[i].quant.scale);
      EXPECT_EQ(g.tensors[i].quant.zero_point, w.tensors[i].quant.zero_point);
      EXPECT_EQ(g.tensors[i].quant.quantized_dimension, w.tensors[i].quant.quantized_dimension);
      EXPECT_EQ(g.tensors[i].quant.block_size, w.tensors[i].quant.block_size);
    }
    ASSERT_EQ(g.ops.size(), w.ops.size());
    for (size_t i = 0; i < w.ops.size(); ++i) {
      SCOPED_TRACE("op " + std::to_string(i));
      EXPECT_EQ(g.ops[i].code, w.ops[i].code);
      EXPECT_EQ(g.ops[i].inputs, w.ops[i].inputs);
      EXPECT_EQ(g.ops[i].outputs, w.ops[i].outputs);
      EXPECT_TRUE(SameOptions(g.ops[i].options, w.ops[i].options));
    }
  }
  ASSERT_EQ(got.signatures.size(), want.signatures.size());
  for (size_t i = 0; i < want.signatures.size(); ++i) {
    EXPECT_EQ(got.signatures[i].key, want.signatures[i].key);
    EXPECT_EQ(got.signatures[i].subgraph, want.signatures[i].subgraph);
    EXPECT_EQ(got.signatures[i].inputs, want.signatures[i].inputs);
    EXPECT_EQ(got.signatures[i].outputs, want.signatures[i].outputs);
  }
}

class RoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("roundtrip"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(RoundTripTest, ExternalBuffersPreserveEveryField) {
  const graph::Model model = MakeTestModel();
  const std::string path = dir_ + "/m.tflite";
  ASSERT_TRUE(WriteTflite(model, path).ok());
  auto read = ReadTflite(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ExpectSameModel(model, **read);
  EXPECT_NE((*read)->FindSignature("decode"), nullptr);
}

TEST_F(RoundTripTest, InlineBuffersPreserveEveryField) {
  const graph::Model model = MakeTestModel();
  const std::string path = dir_ + "/inline.tflite";
  WriteOptions options;
  options.external_buffers = false;
  ASSERT_TRUE(WriteTflite(model, path, options).ok());
  auto read = ReadTflite(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ExpectSameModel(model, **read);
  // Everything inside the flatbuffer: no Buffer uses offset/size.
  auto bytes = ReadBytes(path);
  const ::tflite::Model* fb = ::tflite::GetModel(bytes->data());
  for (const ::tflite::Buffer* b : *fb->buffers()) EXPECT_EQ(b->offset(), 0u);
}

TEST_F(RoundTripTest, RewritingAReadModelIsStable) {
  const std::string a = dir_ + "/a.tflite", b = dir_ + "/b.tflite";
  ASSERT_TRUE(WriteTflite(MakeTestModel(), a).ok());
  auto first = ReadTflite(a);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(WriteTflite(**first, b).ok());
  // Same model, same writer: byte-identical files (metadata buffers are not duplicated).
  EXPECT_EQ(*ReadBytes(a), *ReadBytes(b));
}

// Equal parameter vectors are held once (issue #6's peak RSS: each weight's per-channel
// scales and zero points repeat in prefill and decode, and weights share all-zero zero
// points); a copy that is modified gets its own storage.
TEST_F(RoundTripTest, EqualQuantizationVectorsShareStorage) {
  const std::string path = dir_ + "/shared.tflite";
  ASSERT_TRUE(WriteTflite(MakeTestModel(), path).ok());
  auto read = ReadTflite(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  std::vector<const graph::QuantParams*> zero;  // tensors with zero_point {0}
  for (const graph::Tensor& t : (*read)->subgraphs[0].tensors) {
    if (t.quant.zero_point == std::vector<int64_t>{0}) zero.push_back(&t.quant);
  }
  ASSERT_GE(zero.size(), 2u);
  EXPECT_TRUE(zero[0]->zero_point.SharesStorageWith(zero[1]->zero_point));
  EXPECT_FALSE(zero[0]->scale.SharesStorageWith(zero[1]->scale));  // 0.1 vs 1/1024

  graph::QuantParams copy = *zero[0];
  EXPECT_TRUE(copy.scale.SharesStorageWith(zero[0]->scale));
  copy.scale[0] = 7.0f;
  copy.zero_point.push_back(0);
  EXPECT_EQ(copy.scale, std::vector<float>{7.0f});
  EXPECT_NE(zero[0]->scale[0], 7.0f);
  EXPECT_EQ(zero[0]->zero_point.size(), 1u);
  EXPECT_EQ(zero[1]->zero_point.size(), 1u);
}

TEST_F(RoundTripTest, BuffersAreAlignedAfterTheFlatbufferAndReadInPlace) {
  const graph::Model model = MakeTestModel();
  const std::string path = dir_ + "/m.tflite";
  ASSERT_TRUE(WriteTflite(model, path).ok());
  auto bytes = ReadBytes(path);
  const ::tflite::Model* fb = ::tflite::GetModel(bytes->data());
  EXPECT_TRUE(::tflite::ModelBufferHasIdentifier(bytes->data()));
  EXPECT_EQ(fb->version(), 3u);
  ASSERT_EQ(fb->buffers()->size(), model.buffers.size() + model.metadata.size());
  EXPECT_EQ(fb->buffers()->Get(0)->data(), nullptr);
  EXPECT_EQ(fb->buffers()->Get(0)->offset(), 0u);
  uint64_t previous_end = 0;
  for (uint32_t i = 1; i < model.buffers.size(); ++i) {
    const ::tflite::Buffer* b = fb->buffers()->Get(i);
    SCOPED_TRACE("buffer " + std::to_string(i));
    EXPECT_EQ(b->data(), nullptr);
    EXPECT_EQ(b->offset() % 64, 0u);
    EXPECT_GT(b->offset(), previous_end);  // increasing, after the flatbuffer
    EXPECT_EQ(b->size(), model.buffers[i].size);
    previous_end = b->offset() + b->size();
  }
  EXPECT_EQ(previous_end, bytes->size());
  // Metadata buffers are inline.
  for (uint32_t i = model.buffers.size(); i < fb->buffers()->size(); ++i) {
    EXPECT_NE(fb->buffers()->Get(i)->data(), nullptr);
  }

  // Zero copy: the read model's buffers point into the caller's bytes.
  auto read = ReadTfliteFromMemory(bytes, *bytes, "in-memory");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  for (size_t i = 1; i < (*read)->buffers.size(); ++i) {
    const graph::Buffer& b = (*read)->buffers[i];
    ASSERT_NE(b.data, nullptr);
    EXPECT_GE(b.data, bytes->data());
    EXPECT_LE(b.data + b.size, bytes->data() + bytes->size());
    EXPECT_EQ((b.data - bytes->data()) % 64, 0);
    EXPECT_EQ(b.keep_alive, bytes);
  }
}

TEST_F(RoundTripTest, OperatorCodesAreDedupedWithBothCodeFields) {
  const graph::Model model = MakeTestModel();
  const std::string path = dir_ + "/m.tflite";
  ASSERT_TRUE(WriteTflite(model, path).ok());
  auto bytes = ReadBytes(path);
  const ::tflite::Model* fb = ::tflite::GetModel(bytes->data());
  std::set<graph::OpCode> used;
  for (const auto& sg : model.subgraphs) {
    for (const auto& op : sg.ops) used.insert(op.code);
  }
  ASSERT_EQ(fb->operator_codes()->size(), used.size());
  std::set<int32_t> seen;
  for (const ::tflite::OperatorCode* code : *fb->operator_codes()) {
    const int32_t builtin = code->builtin_code();
    EXPECT_TRUE(seen.insert(builtin).second) << "duplicate " << builtin;
    EXPECT_EQ(code->deprecated_builtin_code(), std::min(builtin, 127));
    EXPECT_EQ(code->version(), 1);
    EXPECT_TRUE(used.count(static_cast<graph::OpCode>(builtin)));
  }
  EXPECT_TRUE(seen.count(151));  // DYNAMIC_UPDATE_SLICE, deprecated code 127
  // Options tables of option-less-in-graph ops follow the converter.
  const ::tflite::SubGraph* sg = fb->subgraphs()->Get(0);
  EXPECT_EQ(sg->operators()->Get(0)->builtin_options_type(),
            ::tflite::BuiltinOptions_GatherOptions);
  EXPECT_EQ(sg->operators()->Get(19)->builtin_options_type(),
            ::tflite::BuiltinOptions_QuantizeOptions);
  EXPECT_EQ(sg->operators()->Get(17)->builtin_options_type(), ::tflite::BuiltinOptions_NONE);
}

TEST_F(RoundTripTest, MissingOptionsBecomeGraphDefaults) {
  graph::Model model;
  graph::Subgraph& sg = model.subgraphs.emplace_back();
  for (auto [name, dtype] : {std::pair{"x", graph::DType::kFloat32},
                             {"y", graph::DType::kFloat32},
                             {"i", graph::DType::kInt32}}) {
    graph::Tensor& t = sg.tensors.emplace_back();
    t.name = name;
    t.dtype = dtype;
    t.shape = {2};
  }
  sg.ops.push_back({graph::OpCode::kSoftmax, {0}, {1}, graph::NoOptions{}});
  sg.ops.push_back({graph::OpCode::kCast, {2}, {0}, graph::NoOptions{}});
  sg.inputs = {2};
  sg.outputs = {1};
  const std::string path = dir_ + "/defaults.tflite";
  ASSERT_TRUE(WriteTflite(model, path).ok());
  auto read = ReadTflite(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const auto& ops = (*read)->subgraphs[0].ops;
  // SOFTMAX beta is written explicitly (the schema default 0 would be wrong).
  EXPECT_EQ(std::get<graph::SoftmaxOptions>(ops[0].options).beta, 1.0f);
  // CAST options describe its tensors.
  EXPECT_EQ(std::get<graph::CastOptions>(ops[1].options).in, graph::DType::kInt32);
  EXPECT_EQ(std::get<graph::CastOptions>(ops[1].options).out, graph::DType::kFloat32);
}

TEST(SchemaInfoTest, NamesAndCounts) {
  EXPECT_EQ(BuiltinOperatorName(9), "FULLY_CONNECTED");
  EXPECT_EQ(BuiltinOperatorName(151), "DYNAMIC_UPDATE_SLICE");
  EXPECT_EQ(BuiltinOperatorName(3), "CONV_2D");
  EXPECT_EQ(BuiltinOperatorName(100000), "UNKNOWN(100000)");
  EXPECT_EQ(TensorTypeName(17), "INT4");
  EXPECT_EQ(TensorTypeName(-3), "UNKNOWN(-3)");
  const graph::Model model = MakeTestModel();
  auto all = CountOps(model);
  EXPECT_EQ(all["FULLY_CONNECTED"], 4);
  EXPECT_EQ(all["GATHER"], 2);
  auto decode = CountOps(model, 1);
  EXPECT_EQ(decode.size(), 2u);
  EXPECT_EQ(decode["FULLY_CONNECTED"], 1);
}

}  // namespace
}  // namespace liteq::tflite
