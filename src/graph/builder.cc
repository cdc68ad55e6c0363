#include "graph/builder.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace liteq::graph {
namespace {

int64_t NumElements(const Shape& s) {
  int64_t n = 1;
  for (int32_t d : s) n *= d;
  return n;
}

// Hex of raw bytes: exact keys for constant values.
std::string HexKey(const void* data, size_t bytes) {
  static const char* kDigits = "0123456789abcdef";
  const auto* p = static_cast<const uint8_t*>(data);
  std::string s;
  s.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; ++i) {
    s.push_back(kDigits[p[i] >> 4]);
    s.push_back(kDigits[p[i] & 15]);
  }
  return s;
}

}  // namespace

std::string ShapeString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

uint32_t GraphBuilder::BeginSubgraph(const std::string& name) {
  model_.subgraphs.emplace_back();
  model_.subgraphs.back().name = name;
  current_ = static_cast<uint32_t>(model_.subgraphs.size() - 1);
  has_subgraph_ = true;
  constant_by_key_.clear();
  name_uses_.clear();
  scope_.clear();
  return current_;
}

void GraphBuilder::Fail(Status s) {
  if (status_.ok() && !s.ok()) status_ = std::move(s);
}

GraphBuilder::Scope::Scope(GraphBuilder& b, std::string_view part)
    : b_(b), previous_size_(b.scope_.size()) {
  if (!b_.scope_.empty()) b_.scope_ += '.';
  b_.scope_ += part;
}

GraphBuilder::Scope::~Scope() { b_.scope_.resize(previous_size_); }

std::string GraphBuilder::ScopedName(std::string_view leaf) const {
  if (scope_.empty()) return std::string(leaf);
  if (leaf.empty()) return scope_;
  return scope_ + "." + std::string(leaf);
}

std::string GraphBuilder::UniqueName(const std::string& name) {
  int& uses = name_uses_[name];
  ++uses;
  if (uses == 1) return name;
  // "x" taken: try "x.1", "x.2"... (a generated name may itself be taken).
  for (int n = uses - 1;; ++n) {
    std::string candidate = name + "." + std::to_string(n);
    if (name_uses_.find(candidate) == name_uses_.end()) {
      name_uses_[candidate] = 1;
      return candidate;
    }
  }
}

void GraphBuilder::Rename(TensorId id, const std::string& name) {
  if (!Valid(id)) return;
  subgraph().tensors[id].name = UniqueName(name);
}

TensorId GraphBuilder::AddTensor(Tensor t) {
  LITEQ_CHECK(has_subgraph_);
  t.name = UniqueName(t.name);
  auto& tensors = subgraph().tensors;
  tensors.push_back(std::move(t));
  return static_cast<TensorId>(tensors.size() - 1);
}

bool GraphBuilder::Valid(TensorId id) const {
  return has_subgraph_ && id >= 0 &&
         static_cast<size_t>(id) < model_.subgraphs[current_].tensors.size();
}

std::string GraphBuilder::Describe(TensorId id) const {
  if (!Valid(id)) return "<invalid tensor " + std::to_string(id) + ">";
  const Tensor& t = tensor(id);
  return "'" + t.name + "' " + ShapeString(t.shape) + " " + DTypeName(t.dtype);
}

TensorId GraphBuilder::Input(const std::string& name, DType dtype, Shape shape) {
  Tensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  TensorId id = AddTensor(std::move(t));
  subgraph().inputs.push_back(id);
  return id;
}

void GraphBuilder::MarkOutput(TensorId id) {
  if (Valid(id)) subgraph().outputs.push_back(id);
}

TensorId GraphBuilder::Activation(std::string_view leaf, DType dtype, Shape shape) {
  Tensor t;
  t.name = ScopedName(leaf);
  t.dtype = dtype;
  t.shape = std::move(shape);
  return AddTensor(std::move(t));
}

TensorId GraphBuilder::Placeholder(DType dtype, Shape shape, std::string_view leaf) {
  return Activation(leaf, dtype, std::move(shape));
}

uint32_t GraphBuilder::SharedBuffer(const std::string& key, const std::function<Buffer()>& make) {
  auto it = buffer_by_key_.find(key);
  if (it != buffer_by_key_.end()) return it->second;
  uint32_t index = model_.AddBuffer(make());
  buffer_by_key_.emplace(key, index);
  return index;
}

TensorId GraphBuilder::Constant(const std::string& key, DType dtype, Shape shape,
                                const std::function<Buffer()>& make, const std::string& name) {
  auto it = constant_by_key_.find(key);
  if (it != constant_by_key_.end()) {
    const Tensor& existing = tensor(it->second);
    if (existing.dtype != dtype || existing.shape != shape) {
      Fail(InternalError("constant '" + key + "' requested as " + ShapeString(shape) + " " +
                         DTypeName(dtype) + " but exists as " + Describe(it->second)));
    }
    return it->second;
  }
  Tensor t;
  t.name = name.empty() ? key : name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  const size_t expected = TensorBytes(dtype, t.num_elements());
  t.buffer = SharedBuffer(key, make);
  if (model_.buffers[t.buffer].size != expected) {
    Fail(InternalError("constant '" + key + "' has " +
                       std::to_string(model_.buffers[t.buffer].size) + " bytes, expected " +
                       std::to_string(expected)));
  }
  TensorId id = AddTensor(std::move(t));
  constant_by_key_.emplace(key, id);
  return id;
}

TensorId GraphBuilder::LazyConstant(const std::string& key, DType dtype, Shape shape,
                                    std::function<Status(std::span<uint8_t>)> producer,
                                    const std::string& name) {
  const size_t bytes = TensorBytes(dtype, NumElements(shape));
  return Constant(
      key, dtype, std::move(shape), [&] { return Buffer::Lazy(bytes, std::move(producer)); }, name);
}

TensorId GraphBuilder::LazyRangedConstant(
    const std::string& key, DType dtype, Shape shape,
    std::function<Status(size_t, std::span<uint8_t>)> range_producer, const std::string& name) {
  const size_t bytes = TensorBytes(dtype, NumElements(shape));
  return Constant(
      key, dtype, std::move(shape),
      [&] { return Buffer::LazyRanged(bytes, std::move(range_producer)); }, name);
}

TensorId GraphBuilder::ConstFloat(const std::vector<float>& values, Shape shape,
                                  const std::string& name) {
  if (static_cast<int64_t>(values.size()) != NumElements(shape)) {
    Fail(InternalError("ConstFloat: " + std::to_string(values.size()) + " values for shape " +
                       ShapeString(shape)));
    return Placeholder(DType::kFloat32, shape, "bad_const");
  }
  // Bit patterns make the key exact (0.1f and its neighbours differ).
  const std::string key =
      "f32" + ShapeString(shape) + ":" + HexKey(values.data(), values.size() * sizeof(float));
  std::string tensor_name = name;
  if (tensor_name.empty()) {
    tensor_name = "const";
    if (values.size() == 1) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "const_%g", values[0]);
      tensor_name = buf;
    }
  }
  return Constant(
      key, DType::kFloat32, std::move(shape), [&] { return Buffer::FromValues(values); },
      tensor_name);
}

TensorId GraphBuilder::ConstInt32(const std::vector<int32_t>& values, Shape shape,
                                  const std::string& name) {
  if (static_cast<int64_t>(values.size()) != NumElements(shape)) {
    Fail(InternalError("ConstInt32: " + std::to_string(values.size()) + " values for shape " +
                       ShapeString(shape)));
    return Placeholder(DType::kInt32, shape, "bad_const");
  }
  std::string key = "i32" + ShapeString(shape) + ":";
  std::string tensor_name = name;
  if (values.size() <= 8) {
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) key += ",";
      key += std::to_string(values[i]);
    }
    if (tensor_name.empty()) tensor_name = "const_i32" + ShapeString(values);
  } else {
    key += HexKey(values.data(), values.size() * sizeof(int32_t));
    if (tensor_name.empty()) tensor_name = "const_i32";
  }
  return Constant(
      key, DType::kInt32, std::move(shape), [&] { return Buffer::FromValues(values); },
      tensor_name);
}

TensorId GraphBuilder::Emit(OpCode code, std::vector<TensorId> inputs, OpOptions options,
                            DType out_dtype, Shape out_shape, std::string_view leaf) {
  for (TensorId in : inputs) {
    if (in != -1 && !Valid(in)) {
      Fail(InternalError(std::string(OpCodeName(code)) + " '" + ScopedName(leaf) +
                         "': invalid input tensor id " + std::to_string(in)));
      return Placeholder(out_dtype, std::move(out_shape), leaf);
    }
  }
  for (int32_t d : out_shape) {
    if (d < 0) {
      Fail(InternalError(std::string(OpCodeName(code)) + " '" + ScopedName(leaf) +
                         "': negative output dimension " + ShapeString(out_shape)));
      out_shape.assign(out_shape.size(), 1);
      break;
    }
  }
  TensorId out = Activation(leaf, out_dtype, std::move(out_shape));
  Op op;
  op.code = code;
  op.inputs = std::move(inputs);
  op.outputs = {out};
  op.options = std::move(options);
  subgraph().ops.push_back(std::move(op));
  return out;
}

}  // namespace liteq::graph
