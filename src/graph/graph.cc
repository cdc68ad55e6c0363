#include "graph/graph.h"

#include <cstring>

namespace liteq::graph {

const char* DTypeName(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kFloat16: return "float16";
    case DType::kInt32: return "int32";
    case DType::kUInt8: return "uint8";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
    case DType::kInt16: return "int16";
    case DType::kInt8: return "int8";
    case DType::kInt4: return "int4";
  }
  return "unknown";
}

size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kFloat32: case DType::kInt32: return 4;
    case DType::kFloat16: case DType::kInt16: return 2;
    case DType::kUInt8: case DType::kInt8: case DType::kBool: return 1;
    case DType::kInt64: return 8;
    case DType::kInt4: return 0;
  }
  return 0;
}

size_t TensorBytes(DType t, int64_t count) {
  if (t == DType::kInt4) return static_cast<size_t>((count + 1) / 2);
  return static_cast<size_t>(count) * DTypeSize(t);
}

const char* OpCodeName(OpCode op) {
  switch (op) {
#define LITEQ_OP_NAME_(name, text) case OpCode::name: return text;
    LITEQ_OP_NAME_(kAdd, "ADD")
    LITEQ_OP_NAME_(kConcatenation, "CONCATENATION")
    LITEQ_OP_NAME_(kDequantize, "DEQUANTIZE")
    LITEQ_OP_NAME_(kEmbeddingLookup, "EMBEDDING_LOOKUP")
    LITEQ_OP_NAME_(kFullyConnected, "FULLY_CONNECTED")
    LITEQ_OP_NAME_(kLogistic, "LOGISTIC")
    LITEQ_OP_NAME_(kMul, "MUL")
    LITEQ_OP_NAME_(kRelu, "RELU")
    LITEQ_OP_NAME_(kReshape, "RESHAPE")
    LITEQ_OP_NAME_(kSoftmax, "SOFTMAX")
    LITEQ_OP_NAME_(kTanh, "TANH")
    LITEQ_OP_NAME_(kPad, "PAD")
    LITEQ_OP_NAME_(kGather, "GATHER")
    LITEQ_OP_NAME_(kTranspose, "TRANSPOSE")
    LITEQ_OP_NAME_(kMean, "MEAN")
    LITEQ_OP_NAME_(kSub, "SUB")
    LITEQ_OP_NAME_(kDiv, "DIV")
    LITEQ_OP_NAME_(kSqueeze, "SQUEEZE")
    LITEQ_OP_NAME_(kStridedSlice, "STRIDED_SLICE")
    LITEQ_OP_NAME_(kExp, "EXP")
    LITEQ_OP_NAME_(kCast, "CAST")
    LITEQ_OP_NAME_(kMaximum, "MAXIMUM")
    LITEQ_OP_NAME_(kMinimum, "MINIMUM")
    LITEQ_OP_NAME_(kLess, "LESS")
    LITEQ_OP_NAME_(kNeg, "NEG")
    LITEQ_OP_NAME_(kGreater, "GREATER")
    LITEQ_OP_NAME_(kGreaterEqual, "GREATER_EQUAL")
    LITEQ_OP_NAME_(kLessEqual, "LESS_EQUAL")
    LITEQ_OP_NAME_(kSlice, "SLICE")
    LITEQ_OP_NAME_(kSin, "SIN")
    LITEQ_OP_NAME_(kEqual, "EQUAL")
    LITEQ_OP_NAME_(kSum, "SUM")
    LITEQ_OP_NAME_(kSqrt, "SQRT")
    LITEQ_OP_NAME_(kRsqrt, "RSQRT")
    LITEQ_OP_NAME_(kPow, "POW")
    LITEQ_OP_NAME_(kReduceMax, "REDUCE_MAX")
    LITEQ_OP_NAME_(kLogicalAnd, "LOGICAL_AND")
    LITEQ_OP_NAME_(kSquare, "SQUARE")
    LITEQ_OP_NAME_(kSquaredDifference, "SQUARED_DIFFERENCE")
    LITEQ_OP_NAME_(kAbs, "ABS")
    LITEQ_OP_NAME_(kCos, "COS")
    LITEQ_OP_NAME_(kQuantize, "QUANTIZE")
    LITEQ_OP_NAME_(kSelectV2, "SELECT_V2")
    LITEQ_OP_NAME_(kBatchMatmul, "BATCH_MATMUL")
    LITEQ_OP_NAME_(kGelu, "GELU")
    LITEQ_OP_NAME_(kDynamicUpdateSlice, "DYNAMIC_UPDATE_SLICE")
#undef LITEQ_OP_NAME_
  }
  return "UNKNOWN";
}

int64_t Tensor::num_elements() const {
  int64_t n = 1;
  for (int32_t d : shape) n *= d;
  return n;
}

Result<std::span<const uint8_t>> Buffer::Materialize(std::vector<uint8_t>& scratch) const {
  if (resident()) return std::span<const uint8_t>(data, size);
  scratch.resize(size);
  LITEQ_RETURN_IF_ERROR(producer(std::span<uint8_t>(scratch.data(), size)));
  return std::span<const uint8_t>(scratch.data(), size);
}

Status Buffer::ReadRange(size_t offset, std::span<uint8_t> out) const {
  if (offset > size || out.size() > size - offset) {
    return OutOfRangeError("buffer range [" + std::to_string(offset) + ", +" +
                           std::to_string(out.size()) + ") outside its " + std::to_string(size) +
                           " bytes");
  }
  if (out.empty()) return Status::Ok();
  if (resident()) {
    std::memcpy(out.data(), data + offset, out.size());
    return Status::Ok();
  }
  if (range_producer) return range_producer(offset, out);
  std::vector<uint8_t> whole(size);
  LITEQ_RETURN_IF_ERROR(producer(std::span<uint8_t>(whole)));
  std::memcpy(out.data(), whole.data() + offset, out.size());
  return Status::Ok();
}

Buffer Buffer::LazyRanged(size_t size,
                          std::function<Status(size_t, std::span<uint8_t>)> range_producer) {
  Buffer b;
  b.size = size;
  b.producer = [range_producer](std::span<uint8_t> out) { return range_producer(0, out); };
  b.range_producer = std::move(range_producer);
  return b;
}

Buffer Buffer::FromVector(std::vector<uint8_t> bytes) {
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  Buffer b;
  b.size = owned->size();
  b.data = owned->empty() ? nullptr : owned->data();
  b.keep_alive = owned;
  return b;
}

Buffer Buffer::Lazy(size_t size, std::function<Status(std::span<uint8_t>)> producer) {
  Buffer b;
  b.size = size;
  b.producer = std::move(producer);
  return b;
}

const Signature* Model::FindSignature(const std::string& key) const {
  for (const auto& s : signatures) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

}  // namespace liteq::graph
