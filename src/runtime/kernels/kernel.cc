#include "runtime/kernels/kernel.h"

#include <cstring>

#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {

PrepareContext::PrepareContext(const graph::Subgraph& subgraph, int op_index,
                               std::span<const uint8_t* const> constant_data, int num_threads,
                               std::span<const TensorOverride> overrides)
    : subgraph_(subgraph),
      op_(subgraph.ops[op_index]),
      constant_data_(constant_data),
      overrides_(overrides),
      num_threads_(num_threads) {
  label_ = OpLabel(subgraph, op_index);
}

std::string OpLabel(const graph::Subgraph& subgraph, int op_index) {
  const graph::Op& op = subgraph.ops[op_index];
  auto names = [&](const std::vector<int32_t>& indices) {
    std::string s;
    for (size_t i = 0; i < indices.size(); ++i) {
      if (i > 0) s += ", ";
      if (indices[i] < 0) {
        s += '-';
      } else {
        s += '\'';
        s += subgraph.tensors[indices[i]].name;
        s += '\'';
      }
    }
    return s;
  };
  return "op " + std::to_string(op_index) + " " + graph::OpCodeName(op.code) + " (inputs " +
         names(op.inputs) + " -> outputs " + names(op.outputs) + ")";
}

const uint8_t* PrepareContext::constant(size_t i) const {
  if (!has_input(i)) return nullptr;
  return constant_data_[op_.inputs[i]];
}

Result<std::vector<int64_t>> PrepareContext::ConstantInts(size_t i, const char* role) const {
  if (!has_input(i)) return Error(std::string("missing ") + role + " input");
  const graph::Tensor& t = input(i);
  const uint8_t* data = constant(i);
  if (data == nullptr) {
    return Unsupported(std::string(role) + " tensor '" + t.name +
                       "' must be a constant (liteq's runtime needs static shapes)");
  }
  const int64_t n = NumElements(t.shape);
  std::vector<int64_t> values(static_cast<size_t>(n));
  if (t.dtype == graph::DType::kInt32) {
    for (int64_t k = 0; k < n; ++k) {
      int32_t v;
      std::memcpy(&v, data + k * 4, 4);
      values[k] = v;
    }
  } else if (t.dtype == graph::DType::kInt64) {
    for (int64_t k = 0; k < n; ++k) std::memcpy(&values[k], data + k * 8, 8);
  } else {
    return Error(std::string(role) + " tensor '" + t.name + "' must be int32 or int64, not " +
                 graph::DTypeName(t.dtype));
  }
  return values;
}

Status PrepareContext::Error(const std::string& what) const {
  return InvalidArgumentError(label_ + ": " + what);
}

Status PrepareContext::Unsupported(const std::string& what) const {
  return UnimplementedError(label_ + ": " + what);
}

Status PrepareContext::CheckArity(size_t min_inputs, size_t max_inputs, size_t outputs) const {
  if (num_inputs() < min_inputs || num_inputs() > max_inputs) {
    std::string expected = min_inputs == max_inputs
                               ? std::to_string(min_inputs)
                               : std::to_string(min_inputs) + " to " + std::to_string(max_inputs);
    return Error("has " + std::to_string(num_inputs()) + " inputs, expected " + expected);
  }
  for (size_t i = 0; i < min_inputs; ++i) {
    if (!has_input(i)) return Error("required input " + std::to_string(i) + " is absent (-1)");
  }
  if (num_outputs() != outputs) {
    return Error("has " + std::to_string(num_outputs()) + " outputs, expected " +
                 std::to_string(outputs));
  }
  return Status::Ok();
}

Status PrepareContext::CheckInputDType(size_t i,
                                       std::initializer_list<graph::DType> allowed) const {
  const graph::Tensor& t = input(i);
  std::string names;
  for (graph::DType d : allowed) {
    if (t.dtype == d) return Status::Ok();
    if (!names.empty()) names += '/';
    names += graph::DTypeName(d);
  }
  return Unsupported("input " + std::to_string(i) + " '" + t.name + "' has dtype " +
                     graph::DTypeName(t.dtype) + ", this kernel takes " + names);
}

Status PrepareContext::CheckOutputDType(size_t i, graph::DType expected) const {
  const graph::Tensor& t = output(i);
  if (t.dtype == expected) return Status::Ok();
  return Error("output " + std::to_string(i) + " '" + t.name + "' has dtype " +
               graph::DTypeName(t.dtype) + ", expected " + graph::DTypeName(expected));
}

Status PrepareContext::CheckOutputShape(size_t i, const std::vector<int32_t>& inferred) const {
  const graph::Tensor& t = output(i);
  if (t.shape == inferred) return Status::Ok();
  return Error("output " + std::to_string(i) + " '" + t.name + "' is declared " +
               ShapeToString(t.shape) + " but the op computes " + ShapeToString(inferred));
}

}  // namespace liteq::runtime
