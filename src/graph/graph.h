// The graph IR: a LiteRT model held in memory. Builders produce it, the quantizer
// rewrites it, the tflite writer serialises it, the tflite reader reproduces it and the
// runtime executes it. Op codes and option fields mirror the TFLite schema
// (reference: tflite_schema.fbs), so writing and reading are one-to-one.
#ifndef LITEQ_GRAPH_GRAPH_H_
#define LITEQ_GRAPH_GRAPH_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "graph/shared_vector.h"
#include "liteq/status.h"

namespace liteq::graph {

// Values equal the schema's TensorType so conversion is a cast.
enum class DType : int8_t {
  kFloat32 = 0,
  kFloat16 = 1,
  kInt32 = 2,
  kUInt8 = 3,
  kInt64 = 4,
  kBool = 6,
  kInt16 = 7,
  kInt8 = 9,
  kInt4 = 17,
};
const char* DTypeName(DType t);
// Bytes of one element; Int4 returns 0 (two per byte, use TensorBytes()).
size_t DTypeSize(DType t);
// Bytes of a dense tensor of `count` elements of type `t` (Int4 rounds up).
size_t TensorBytes(DType t, int64_t count);

// Values equal the schema's BuiltinOperator.
enum class OpCode : int32_t {
  kAdd = 0,
  kConcatenation = 2,
  kDequantize = 6,
  kEmbeddingLookup = 7,
  kFullyConnected = 9,
  kLogistic = 14,
  kMul = 18,
  kRelu = 19,
  kReshape = 22,
  kSoftmax = 25,
  kTanh = 28,
  kPad = 34,
  kGather = 36,
  kTranspose = 39,
  kMean = 40,
  kSub = 41,
  kDiv = 42,
  kSqueeze = 43,
  kStridedSlice = 45,
  kExp = 47,
  kCast = 53,
  kMaximum = 55,
  kMinimum = 57,
  kLess = 58,
  kNeg = 59,
  kGreater = 61,
  kGreaterEqual = 62,
  kLessEqual = 63,
  kSlice = 65,
  kSin = 66,
  kEqual = 71,
  kSum = 74,
  kSqrt = 75,
  kRsqrt = 76,
  kPow = 78,
  kReduceMax = 82,
  kLogicalAnd = 86,
  kSquare = 92,
  kSquaredDifference = 99,
  kAbs = 101,
  kCos = 108,
  kQuantize = 114,
  kSelectV2 = 123,
  kBatchMatmul = 126,
  kGelu = 150,
  kDynamicUpdateSlice = 151,
};
const char* OpCodeName(OpCode op);

// Schema ActivationFunctionType.
enum class Activation : int8_t { kNone = 0, kRelu = 1, kReluN1To1 = 2, kRelu6 = 3, kTanh = 4 };

// Quantization parameters, as the schema's QuantizationParameters:
// real = scale * (q - zero_point). Empty `scale` means "not quantized". The vectors are
// shared between copies (and, from the reader, between tensors with equal parameters).
struct QuantParams {
  SharedVector<float> scale;
  SharedVector<int64_t> zero_point;
  int32_t quantized_dimension = 0;
  // Blockwise int4: elements per block along the input dimension (0 = none).
  // Written as metadata-free per-axis params are not expressive enough; see
  // the quantizer for how blocks are laid out.
  int32_t block_size = 0;
  bool empty() const { return scale.empty(); }
  bool per_axis() const { return scale.size() > 1; }
};

// Constant data. Either bytes already in memory (owned or a view into a mapped file)
// or a producer that fills a destination of `size` bytes when the writer streams the
// tensor out, so exporting never holds more than one converted tensor at a time.
struct Buffer {
  size_t size = 0;
  const uint8_t* data = nullptr;             // set when the bytes are resident
  std::shared_ptr<const void> keep_alive;    // owns `data` (vector, mapped file...)
  std::function<Status(std::span<uint8_t>)> producer;  // set for lazy buffers
  // Optional, for lazy buffers: bytes [offset, offset + out.size()) without producing
  // the rest, so a large tensor can be processed a slice at a time (this is what keeps
  // `quantize`'s peak memory near one slice instead of one whole float tensor).
  std::function<Status(size_t offset, std::span<uint8_t> out)> range_producer;

  bool empty() const { return size == 0; }
  bool resident() const { return data != nullptr || size == 0; }
  // Bytes of this buffer: resident data, or the producer's output into `scratch`.
  Result<std::span<const uint8_t>> Materialize(std::vector<uint8_t>& scratch) const;
  // Bytes [offset, offset + out.size()): from the resident data, the range producer or,
  // for a lazy buffer without one, the whole producer's output (memory of the whole).
  Status ReadRange(size_t offset, std::span<uint8_t> out) const;

  static Buffer FromVector(std::vector<uint8_t> bytes);
  template <typename T>
  static Buffer FromValues(const std::vector<T>& values) {
    std::vector<uint8_t> bytes(values.size() * sizeof(T));
    if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    return FromVector(std::move(bytes));
  }
  static Buffer Lazy(size_t size, std::function<Status(std::span<uint8_t>)> producer);
  // A lazy buffer that can also produce any byte range.
  static Buffer LazyRanged(size_t size,
                           std::function<Status(size_t, std::span<uint8_t>)> range_producer);
};

struct Tensor {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int32_t> shape;
  QuantParams quant;
  // Index into Model::buffers of constant data; 0 means "no data" (an activation,
  // input or output), as in the schema where buffer 0 is the empty sentinel.
  uint32_t buffer = 0;
  bool is_variable = false;
  int64_t num_elements() const;
};

// Per-op options, one struct per schema options table that liteq uses.
struct NoOptions {};
struct FullyConnectedOptions {
  Activation activation = Activation::kNone;
  bool keep_num_dims = false;
  bool asymmetric_quantize_inputs = false;
};
struct BinaryOptions {  // AddOptions, SubOptions, MulOptions, DivOptions
  Activation activation = Activation::kNone;
};
struct ConcatenationOptions {
  int32_t axis = 0;
  Activation activation = Activation::kNone;
};
struct SoftmaxOptions { float beta = 1.0f; };
struct ReshapeOptions { std::vector<int32_t> new_shape; };
struct ReducerOptions { bool keep_dims = false; };  // MEAN, SUM, REDUCE_MAX
struct GatherOptions { int32_t axis = 0; int32_t batch_dims = 0; };
struct BatchMatMulOptions {
  bool adj_x = false;
  bool adj_y = false;
  bool asymmetric_quantize_inputs = false;
};
struct StridedSliceOptions {
  int32_t begin_mask = 0;
  int32_t end_mask = 0;
  int32_t ellipsis_mask = 0;
  int32_t new_axis_mask = 0;
  int32_t shrink_axis_mask = 0;
  bool offset = false;
};
struct GeluOptions { bool approximate = false; };
struct SqueezeOptions { std::vector<int32_t> squeeze_dims; };
struct CastOptions { DType in = DType::kFloat32; DType out = DType::kFloat32; };

using OpOptions =
    std::variant<NoOptions, FullyConnectedOptions, BinaryOptions, ConcatenationOptions,
                 SoftmaxOptions, ReshapeOptions, ReducerOptions, GatherOptions,
                 BatchMatMulOptions, StridedSliceOptions, GeluOptions, SqueezeOptions,
                 CastOptions>;

struct Op {
  OpCode code = OpCode::kAdd;
  std::vector<int32_t> inputs;   // tensor indices in the subgraph; -1 = optional absent
  std::vector<int32_t> outputs;
  OpOptions options;
};

struct Subgraph {
  std::string name;
  std::vector<Tensor> tensors;
  std::vector<int32_t> inputs;   // tensor indices
  std::vector<int32_t> outputs;
  std::vector<Op> ops;           // in execution order
};

// A named entry point (schema SignatureDef): maps user-facing names to tensors of one
// subgraph.
struct Signature {
  std::string key;               // "prefill", "decode", "prefill_128"...
  uint32_t subgraph = 0;
  std::vector<std::pair<std::string, int32_t>> inputs;   // name -> tensor index
  std::vector<std::pair<std::string, int32_t>> outputs;
};

struct Model {
  std::string description;
  std::vector<Subgraph> subgraphs;
  std::vector<Buffer> buffers;   // buffers[0] is always the empty sentinel
  std::vector<Signature> signatures;
  // Schema metadata entries (name -> bytes); liteq stores JSON text here.
  std::map<std::string, std::string> metadata;

  Model() { buffers.emplace_back(); }
  uint32_t AddBuffer(Buffer b) {
    buffers.push_back(std::move(b));
    return static_cast<uint32_t>(buffers.size() - 1);
  }
  const Signature* FindSignature(const std::string& key) const;
};

}  // namespace liteq::graph

#endif  // LITEQ_GRAPH_GRAPH_H_
