#include "test_model.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace liteq::tflite::testing {
namespace {

using graph::Activation;
using graph::DType;
using graph::OpCode;

graph::Tensor MakeTensor(std::string name, DType dtype, std::vector<int32_t> shape,
                         uint32_t buffer = 0) {
  graph::Tensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.buffer = buffer;
  return t;
}

graph::Op MakeOp(OpCode code, std::vector<int32_t> in, std::vector<int32_t> out,
                 graph::OpOptions options = graph::NoOptions{}) {
  graph::Op op;
  op.code = code;
  op.inputs = std::move(in);
  op.outputs = std::move(out);
  op.options = std::move(options);
  return op;
}

}  // namespace

graph::Model MakeTestModel() {
  graph::Model m;
  m.description = "liteq tflite round-trip test";
  std::vector<float> embed(12);
  for (size_t i = 0; i < embed.size(); ++i) embed[i] = 0.25f * static_cast<float>(i) - 1.0f;
  const uint32_t b_embed = m.AddBuffer(graph::Buffer::FromValues(embed));
  const uint32_t b_int8 = m.AddBuffer(
      graph::Buffer::FromValues(std::vector<int8_t>{-128, -5, 0, 1, 2, 3, 4, 5, 6, 7, 100, 127}));
  // 9 int4 values packed two per byte: 5 bytes.
  const uint32_t b_int4 =
      m.AddBuffer(graph::Buffer::FromValues(std::vector<uint8_t>{0x12, 0x34, 0x56, 0x78, 0x09}));
  const uint32_t b_lazy =
      m.AddBuffer(graph::Buffer::Lazy(3 * sizeof(float), [](std::span<uint8_t> dst) {
        for (int i = 0; i < 3; ++i) {
          const float v = 0.5f * static_cast<float>(i) + 1.0f;
          std::memcpy(dst.data() + i * sizeof(float), &v, sizeof(float));
        }
        return Status::Ok();
      }));
  const uint32_t b_shape = m.AddBuffer(graph::Buffer::FromValues(std::vector<int32_t>{4, 4}));
  const uint32_t b_zeros = m.AddBuffer(graph::Buffer::FromValues(std::vector<int32_t>{0, 0}));
  const uint32_t b_ones = m.AddBuffer(graph::Buffer::FromValues(std::vector<int32_t>{1, 1}));
  const uint32_t b_i64 =
      m.AddBuffer(graph::Buffer::FromValues(std::vector<int64_t>{-1, int64_t{1} << 40}));
  const uint32_t b_f16 =
      m.AddBuffer(graph::Buffer::FromValues(std::vector<uint16_t>{0x3c00, 0xc000}));
  const uint32_t b_u8 = m.AddBuffer(graph::Buffer::FromValues(std::vector<uint8_t>{7, 200}));
  const uint32_t b_i16 = m.AddBuffer(graph::Buffer::FromValues(std::vector<int16_t>{-300, 300}));

  graph::Subgraph& pre = m.subgraphs.emplace_back();
  pre.name = "prefill";
  auto& t = pre.tensors;
  t.push_back(MakeTensor("tokens", DType::kInt32, {1, 4}));               // 0
  t.push_back(MakeTensor("embed", DType::kFloat32, {3, 4}, b_embed));     // 1
  t.push_back(MakeTensor("h", DType::kFloat32, {1, 4, 4}));               // 2
  t.push_back(MakeTensor(kPerAxisTensor, DType::kInt8, {3, 4}, b_int8));  // 3
  t.back().quant.scale = {0.5f, 0.25f, 0.125f, 1.0f / 3.0f};
  t.back().quant.zero_point = {0, 0, 0, 0};
  t.back().quant.quantized_dimension = 1;
  t.push_back(MakeTensor("w_int4", DType::kInt4, {3, 3}, b_int4));  // 4
  t.back().quant.scale = {0.1f};
  t.back().quant.zero_point = {0};
  t.push_back(MakeTensor("bias_lazy", DType::kFloat32, {3}, b_lazy));  // 5
  t.push_back(MakeTensor("shape", DType::kInt32, {2}, b_shape));       // 6
  t.push_back(MakeTensor("fc_out", DType::kFloat32, {4, 3}));          // 7
  t.push_back(MakeTensor("act_q", DType::kInt8, {4, 3}));              // 8
  t.back().quant.scale = {0.05f};
  t.back().quant.zero_point = {-3};
  t.push_back(MakeTensor("begin", DType::kInt32, {2}, b_zeros));           // 9
  t.push_back(MakeTensor("end", DType::kInt32, {2}, b_zeros));             // 10
  t.push_back(MakeTensor("strides", DType::kInt32, {2}, b_ones));          // 11
  t.push_back(MakeTensor("mask", DType::kBool, {4, 4}));                   // 12
  t.push_back(MakeTensor("kv_cache_k_0", DType::kFloat32, {1, 8, 1, 4}));  // 13
  t.back().is_variable = true;
  t.push_back(MakeTensor("input_pos", DType::kInt32, {4}));       // 14
  t.push_back(MakeTensor("logits", DType::kFloat32, {1, 4, 3}));  // 15
  t.push_back(MakeTensor("tmp", DType::kFloat32, {4, 4}));        // 16
  t.push_back(MakeTensor("i64", DType::kInt64, {2}, b_i64));      // 17
  t.push_back(MakeTensor("f16", DType::kFloat16, {2}, b_f16));    // 18
  t.push_back(MakeTensor("u8", DType::kUInt8, {2}, b_u8));        // 19
  t.back().quant.scale = {0.5f};
  t.back().quant.zero_point = {128};
  t.push_back(MakeTensor("i16", DType::kInt16, {2}, b_i16));  // 20
  t.back().quant.scale = {1.0f / 1024.0f};
  t.back().quant.zero_point = {0};
  t.push_back(MakeTensor("scalar", DType::kFloat32, {}));  // 21
  pre.inputs = {0, 14, 13};
  pre.outputs = {15, 13};
  auto& ops = pre.ops;
  ops.push_back(MakeOp(OpCode::kGather, {1, 0}, {2}, graph::GatherOptions{1, 1}));
  ops.push_back(MakeOp(OpCode::kFullyConnected, {2, 3, 5}, {7},
                       graph::FullyConnectedOptions{Activation::kRelu, true, true}));
  ops.push_back(MakeOp(OpCode::kFullyConnected, {2, 4, -1}, {7},
                       graph::FullyConnectedOptions{Activation::kNone, false, false}));
  ops.push_back(MakeOp(OpCode::kAdd, {7, 7}, {16}, graph::BinaryOptions{Activation::kRelu6}));
  ops.push_back(MakeOp(OpCode::kSub, {16, 16}, {16}, graph::BinaryOptions{Activation::kTanh}));
  ops.push_back(MakeOp(OpCode::kMul, {16, 21}, {16}, graph::BinaryOptions{Activation::kReluN1To1}));
  ops.push_back(MakeOp(OpCode::kDiv, {16, 16}, {16}, graph::BinaryOptions{Activation::kNone}));
  ops.push_back(MakeOp(OpCode::kConcatenation, {16, 16, 16}, {16},
                       graph::ConcatenationOptions{-1, Activation::kRelu}));
  ops.push_back(MakeOp(OpCode::kSoftmax, {16}, {16}, graph::SoftmaxOptions{0.5f}));
  ops.push_back(MakeOp(OpCode::kReshape, {16, 6}, {16}, graph::ReshapeOptions{{4, 4}}));
  ops.push_back(MakeOp(OpCode::kMean, {16, 9}, {16}, graph::ReducerOptions{true}));
  ops.push_back(MakeOp(OpCode::kReduceMax, {16, 9}, {16}, graph::ReducerOptions{false}));
  ops.push_back(
      MakeOp(OpCode::kBatchMatmul, {16, 16}, {16}, graph::BatchMatMulOptions{false, true, true}));
  ops.push_back(MakeOp(OpCode::kStridedSlice, {16, 9, 10, 11}, {16},
                       graph::StridedSliceOptions{1, 2, 0, 4, 1, true}));
  ops.push_back(MakeOp(OpCode::kGelu, {16}, {16}, graph::GeluOptions{true}));
  ops.push_back(MakeOp(OpCode::kSqueeze, {15}, {16}, graph::SqueezeOptions{{0}}));
  ops.push_back(
      MakeOp(OpCode::kCast, {0}, {16}, graph::CastOptions{DType::kInt32, DType::kFloat32}));
  ops.push_back(MakeOp(OpCode::kRsqrt, {16}, {16}));
  ops.push_back(MakeOp(OpCode::kSelectV2, {12, 16, 16}, {16}));
  ops.push_back(MakeOp(OpCode::kQuantize, {7}, {8}));
  ops.push_back(MakeOp(OpCode::kDequantize, {8}, {7}));
  ops.push_back(MakeOp(OpCode::kLess, {16, 16}, {12}));
  ops.push_back(MakeOp(OpCode::kEmbeddingLookup, {0, 1}, {2}));
  ops.push_back(MakeOp(OpCode::kFullyConnected, {2, 1, -1}, {15},
                       graph::FullyConnectedOptions{Activation::kNone, true, false}));
  // Builtin code 151 > 127: needs OperatorCode.builtin_code.
  ops.push_back(MakeOp(OpCode::kDynamicUpdateSlice, {13, 16, 14}, {13}));

  graph::Subgraph& dec = m.subgraphs.emplace_back();
  dec.name = "decode";
  dec.tensors.push_back(MakeTensor("tokens", DType::kInt32, {1, 1}));
  dec.tensors.push_back(MakeTensor("embed", DType::kFloat32, {3, 4}, b_embed));  // shared
  dec.tensors.push_back(MakeTensor("h", DType::kFloat32, {1, 1, 4}));
  dec.tensors.push_back(MakeTensor("logits", DType::kFloat32, {1, 1, 3}));
  dec.inputs = {0};
  dec.outputs = {3};
  dec.ops.push_back(MakeOp(OpCode::kGather, {1, 0}, {2}, graph::GatherOptions{0, 0}));
  dec.ops.push_back(MakeOp(OpCode::kFullyConnected, {2, 1, -1}, {3},
                           graph::FullyConnectedOptions{Activation::kNone, true, false}));

  graph::Signature& sp = m.signatures.emplace_back();
  sp.key = "prefill";
  sp.subgraph = 0;
  sp.inputs = {{"tokens", 0}, {"input_pos", 14}, {"kv_cache_k_0", 13}};
  sp.outputs = {{"logits", 15}, {"kv_cache_k_0", 13}};
  graph::Signature& sd = m.signatures.emplace_back();
  sd.key = "decode";
  sd.subgraph = 1;
  sd.inputs = {{"tokens", 0}};
  sd.outputs = {{"logits", 3}};

  m.metadata["liteq.config"] = R"({"n_layers": 1, "vocab": 3})";
  m.metadata["binary"] = std::string("\0\x01\xff", 3);
  return m;
}

std::string MakeTempDir(const std::string& tag) {
  namespace fs = std::filesystem;
  fs::path dir =
      fs::temp_directory_path() / ("liteq_tflite_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::shared_ptr<std::vector<uint8_t>> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::make_shared<std::vector<uint8_t>>(std::istreambuf_iterator<char>(in),
                                                std::istreambuf_iterator<char>());
}

}  // namespace liteq::tflite::testing
