#include "tflite/validate.h"

#include <set>
#include <string>

#include "tflite/op_schema.h"

namespace liteq::tflite {
namespace {

std::string ShapeString(const std::vector<int32_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Status CheckQuantization(const graph::Tensor& t) {
  const graph::QuantParams& q = t.quant;
  if (q.scale.size() != q.zero_point.size()) {
    return InvalidArgumentError("has " + std::to_string(q.scale.size()) + " scales but " +
                                std::to_string(q.zero_point.size()) + " zero points");
  }
  if (q.block_size != 0) {
    return UnimplementedError("blockwise quantization (block_size " + std::to_string(q.block_size) +
                              ") has no .tflite encoding in liteq yet");
  }
  if (q.per_axis()) {
    // Schema QuantizationParameters.quantized_dimension: scale[i] applies to index i of
    // that dimension, so there is one scale per element of it.
    const int32_t dim = q.quantized_dimension;
    if (dim < 0 || static_cast<size_t>(dim) >= t.shape.size()) {
      return InvalidArgumentError("quantized_dimension " + std::to_string(dim) +
                                  " is outside its shape " + ShapeString(t.shape));
    }
    if (static_cast<int64_t>(q.scale.size()) != t.shape[dim]) {
      return InvalidArgumentError("has " + std::to_string(q.scale.size()) +
                                  " per-axis scales but dimension " + std::to_string(dim) + " of " +
                                  ShapeString(t.shape) + " has size " +
                                  std::to_string(t.shape[dim]));
    }
  }
  return Status::Ok();
}

Status CheckTensor(const graph::Model& model, const graph::Tensor& t) {
  if (!IsSupportedTensorType(static_cast<int8_t>(t.dtype))) {
    return UnimplementedError("has unsupported type " + std::to_string(static_cast<int>(t.dtype)));
  }
  auto count = CheckedElementCount(t.shape);
  if (!count.ok()) return count.status();
  LITEQ_RETURN_IF_ERROR(CheckQuantization(t));
  if (t.buffer >= model.buffers.size()) {
    return InvalidArgumentError("refers to buffer " + std::to_string(t.buffer) + " but there are " +
                                std::to_string(model.buffers.size()) + " buffers");
  }
  const graph::Buffer& b = model.buffers[t.buffer];
  if (b.empty()) return Status::Ok();  // no constant data: activation, input or variable
  if (t.is_variable) {
    // The official runtime rejects variable tensors with a buffer
    // (InterpreterBuilder::ParseTensors).
    return InvalidArgumentError("is a variable but has constant data in buffer " +
                                std::to_string(t.buffer));
  }
  // count * element size (at most 8 bytes) must not wrap in TensorBytes.
  if (*count > static_cast<int64_t>(SIZE_MAX / 8)) {
    return InvalidArgumentError("shape " + ShapeString(t.shape) + " is too large");
  }
  const size_t expected = graph::TensorBytes(t.dtype, *count);
  if (b.size != expected) {
    return InvalidArgumentError("buffer " + std::to_string(t.buffer) + " holds " +
                                std::to_string(b.size) + " bytes but " + graph::DTypeName(t.dtype) +
                                " " + ShapeString(t.shape) + " needs " + std::to_string(expected));
  }
  return Status::Ok();
}

Status CheckIndexList(const std::vector<int32_t>& list, size_t num_tensors, bool allow_absent,
                      const std::string& what) {
  for (size_t i = 0; i < list.size(); ++i) {
    const int32_t idx = list[i];
    if (allow_absent && idx == -1) continue;
    if (idx < 0 || static_cast<size_t>(idx) >= num_tensors) {
      return InvalidArgumentError(what + " " + std::to_string(i) + " is tensor " +
                                  std::to_string(idx) + " but the subgraph has " +
                                  std::to_string(num_tensors) + " tensors");
    }
  }
  return Status::Ok();
}

Status CheckOp(const graph::Subgraph& sg, const graph::Op& op) {
  const OpSchema* schema = FindOpSchema(static_cast<int32_t>(op.code));
  if (schema == nullptr) {
    return UnimplementedError("has unsupported op code " +
                              std::to_string(static_cast<int32_t>(op.code)));
  }
  const int n_in = static_cast<int>(op.inputs.size());
  const int n_out = static_cast<int>(op.outputs.size());
  if (n_in < schema->min_inputs || (schema->max_inputs >= 0 && n_in > schema->max_inputs)) {
    return InvalidArgumentError("has " + std::to_string(n_in) + " inputs; " + OpCodeName(op.code) +
                                " takes " + std::to_string(schema->min_inputs) +
                                (schema->max_inputs < 0
                                     ? std::string(" or more")
                                     : std::string(" to ") + std::to_string(schema->max_inputs)));
  }
  if (n_out != schema->num_outputs) {
    return InvalidArgumentError("has " + std::to_string(n_out) + " outputs; " +
                                OpCodeName(op.code) + " has " +
                                std::to_string(schema->num_outputs));
  }
  LITEQ_RETURN_IF_ERROR(CheckIndexList(op.inputs, sg.tensors.size(), true, "input"));
  LITEQ_RETURN_IF_ERROR(CheckIndexList(op.outputs, sg.tensors.size(), false, "output"));
  if (!OptionsMatch(op.code, op.options)) {
    return InvalidArgumentError(std::string("carries options of the wrong kind (variant ") +
                                std::to_string(op.options.index()) + ")");
  }
  return Status::Ok();
}

Status CheckSignature(const graph::Model& model, const graph::Signature& sig) {
  if (sig.key.empty()) return InvalidArgumentError("has an empty key");
  if (sig.subgraph >= model.subgraphs.size()) {
    return InvalidArgumentError("refers to subgraph " + std::to_string(sig.subgraph) +
                                " but there are " + std::to_string(model.subgraphs.size()));
  }
  const size_t n = model.subgraphs[sig.subgraph].tensors.size();
  for (const auto* list : {&sig.inputs, &sig.outputs}) {
    const char* what = list == &sig.inputs ? "input" : "output";
    std::set<std::string> names;
    for (const auto& [name, idx] : *list) {
      if (idx < 0 || static_cast<size_t>(idx) >= n) {
        return InvalidArgumentError(std::string(what) + " '" + name + "' is tensor " +
                                    std::to_string(idx) + " but subgraph " +
                                    std::to_string(sig.subgraph) + " has " + std::to_string(n) +
                                    " tensors");
      }
      if (!names.insert(name).second) {
        return InvalidArgumentError(std::string("has two ") + what + "s named '" + name + "'");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<int64_t> CheckedElementCount(const std::vector<int32_t>& shape) {
  int64_t n = 1;
  for (int32_t d : shape) {
    if (d < 0)
      return InvalidArgumentError("shape " + ShapeString(shape) + " has a negative dimension");
    if (__builtin_mul_overflow(n, static_cast<int64_t>(d), &n)) {
      return InvalidArgumentError("shape " + ShapeString(shape) + " has too many elements");
    }
  }
  return n;
}

std::string DescribeSubgraph(const graph::Model& model, size_t index) {
  std::string s = "subgraph " + std::to_string(index);
  if (index < model.subgraphs.size() && !model.subgraphs[index].name.empty()) {
    s += " '" + model.subgraphs[index].name + "'";
  }
  return s;
}

std::string DescribeTensor(const graph::Subgraph& subgraph, int64_t index) {
  std::string s = "tensor " + std::to_string(index);
  if (index >= 0 && static_cast<size_t>(index) < subgraph.tensors.size()) {
    s += " '" + subgraph.tensors[index].name + "'";
  }
  return s;
}

Status ValidateModel(const graph::Model& model) {
  if (model.buffers.empty() || !model.buffers[0].empty()) {
    return InvalidArgumentError("buffer 0 must exist and be empty (the schema's sentinel)");
  }
  for (size_t i = 0; i < model.buffers.size(); ++i) {
    const graph::Buffer& b = model.buffers[i];
    if (!b.empty() && b.data == nullptr && !b.producer) {
      return InvalidArgumentError("buffer " + std::to_string(i) + " has " + std::to_string(b.size) +
                                  " bytes but neither data nor a producer");
    }
  }
  if (model.subgraphs.empty()) return InvalidArgumentError("the model has no subgraph");
  for (size_t s = 0; s < model.subgraphs.size(); ++s) {
    const graph::Subgraph& sg = model.subgraphs[s];
    const std::string where = DescribeSubgraph(model, s);
    for (size_t t = 0; t < sg.tensors.size(); ++t) {
      Status st = CheckTensor(model, sg.tensors[t]);
      if (!st.ok()) return st.WithContext(where + ": " + DescribeTensor(sg, t));
    }
    Status st = CheckIndexList(sg.inputs, sg.tensors.size(), false, "input");
    if (st.ok()) st = CheckIndexList(sg.outputs, sg.tensors.size(), false, "output");
    if (!st.ok()) return st.WithContext(where);
    for (size_t o = 0; o < sg.ops.size(); ++o) {
      st = CheckOp(sg, sg.ops[o]);
      if (!st.ok()) {
        return st.WithContext(where + ": op " + std::to_string(o) + " (" +
                              OpCodeName(sg.ops[o].code) + ")");
      }
    }
  }
  std::set<std::string> keys;
  for (size_t i = 0; i < model.signatures.size(); ++i) {
    const graph::Signature& sig = model.signatures[i];
    Status st = CheckSignature(model, sig);
    if (st.ok() && !keys.insert(sig.key).second) {
      st = InvalidArgumentError("repeats an earlier signature's key");
    }
    if (!st.ok()) return st.WithContext("signature " + std::to_string(i) + " '" + sig.key + "'");
  }
  return Status::Ok();
}

}  // namespace liteq::tflite
