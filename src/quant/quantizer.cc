#include "quant/quantizer.h"

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "quant/quant_params.h"

namespace liteq::quant {
namespace {

using graph::DType;
using graph::OpCode;

// How one float buffer will be quantized.
struct BufferPlan {
  bool per_tensor = false;
  std::vector<int32_t> shape;  // of the first tensor using it (all uses must agree)
  std::string tensor_name;
};

bool IsFloatConstant(const graph::Model& model, const graph::Tensor& t) {
  return t.dtype == DType::kFloat32 && t.buffer != 0 && t.buffer < model.buffers.size() &&
         !model.buffers[t.buffer].empty() && t.quant.empty();
}

// Tensors of `sg` that carry the token ids: the signature input `tokens` and anything
// reshaped/squeezed from it (the embedding GATHER's indices).
std::set<int32_t> TokenTensors(const graph::Model& model, uint32_t sg_index) {
  std::set<int32_t> tokens;
  for (const graph::Signature& sig : model.signatures) {
    if (sig.subgraph != sg_index) continue;
    for (const auto& [name, t] : sig.inputs) {
      if (name == "tokens") tokens.insert(t);
    }
  }
  for (const graph::Op& op : model.subgraphs[sg_index].ops) {  // ops are in execution order
    if ((op.code == OpCode::kReshape || op.code == OpCode::kSqueeze) && !op.inputs.empty() &&
        tokens.count(op.inputs[0]) != 0 && op.outputs.size() == 1) {
      tokens.insert(op.outputs[0]);
    }
  }
  return tokens;
}

// The float values of a buffer, streamed from its producer (or copied if resident).
Result<std::vector<float>> ReadFloats(const graph::Buffer& buffer) {
  std::vector<uint8_t> scratch;
  LITEQ_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, buffer.Materialize(scratch));
  std::vector<float> values(bytes.size() / sizeof(float));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

// Quantizes [rows, cols] floats per row, or the whole tensor with one scale.
Result<SymmetricWeights> QuantizeInt8(std::span<const float> values, int64_t rows,
                                      bool per_tensor) {
  if (per_tensor) return QuantizeWeightsPerTensor(values, 8);
  return QuantizeWeightsPerChannel(values, rows, static_cast<int64_t>(values.size()) / rows, 8);
}

}  // namespace

Result<QuantizeReport> QuantizeWeightOnlyInt8(graph::Model& model,
                                              const WeightOnlyOptions& options) {
  // 1. Which buffers, and which of them hold the token embedding.
  std::map<uint32_t, BufferPlan> plans;
  std::set<uint32_t> embedding_buffers;
  auto want = [&](const graph::Tensor& t, bool embedding) -> Status {
    auto [it, inserted] = plans.try_emplace(t.buffer);
    BufferPlan& plan = it->second;
    if (inserted) {
      plan.shape = t.shape;
      plan.tensor_name = t.name;
    } else if (plan.shape != t.shape) {
      return InvalidArgumentError("weight-only int8: buffer " + std::to_string(t.buffer) +
                                  " is used as '" + plan.tensor_name + "' and '" + t.name +
                                  "' with different shapes");
    }
    if (embedding) embedding_buffers.insert(t.buffer);
    return Status::Ok();
  };
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    const graph::Subgraph& sg = model.subgraphs[s];
    const std::set<int32_t> tokens = TokenTensors(model, s);
    for (const graph::Op& op : sg.ops) {
      if (op.code == OpCode::kFullyConnected && op.inputs.size() >= 2 && op.inputs[1] >= 0) {
        const graph::Tensor& w = sg.tensors[op.inputs[1]];
        if (IsFloatConstant(model, w) && w.shape.size() == 2 && w.shape[0] > 0) {
          LITEQ_RETURN_IF_ERROR(want(w, false));
        }
      } else if (op.code == OpCode::kGather && op.inputs.size() == 2 && op.inputs[0] >= 0 &&
                 tokens.count(op.inputs[1]) != 0) {
        const graph::Tensor& params = sg.tensors[op.inputs[0]];
        if (IsFloatConstant(model, params) && params.shape.size() == 2 && params.shape[0] > 0) {
          LITEQ_RETURN_IF_ERROR(want(params, true));
        }
      }
    }
  }

  for (auto& [index, plan] : plans) {
    const Granularity g =
        embedding_buffers.count(index) != 0 ? options.embedding_granularity : options.granularity;
    plan.per_tensor = g == Granularity::kPerTensor;
  }

  // 2. Scales now (one float tensor in memory at a time), int8 bytes lazily.
  QuantizeReport report;
  std::map<uint32_t, std::shared_ptr<const std::vector<float>>> scales_of;
  for (auto& [index, plan] : plans) {
    const graph::Buffer original = model.buffers[index];
    const int64_t rows = plan.shape[0];
    int64_t count = 1;
    for (int32_t d : plan.shape) count *= d;
    if (original.size != graph::TensorBytes(DType::kFloat32, count)) {
      return InvalidArgumentError("weight-only int8: buffer " + std::to_string(index) + " of '" +
                                  plan.tensor_name + "' has " + std::to_string(original.size) +
                                  " bytes, not float32 of its shape");
    }
    LITEQ_ASSIGN_OR_RETURN(std::vector<float> values, ReadFloats(original));
    Result<SymmetricWeights> q = QuantizeInt8(values, rows, plan.per_tensor);
    if (!q.ok()) return q.status().WithContext("quantizing '" + plan.tensor_name + "'");
    auto scales = std::make_shared<const std::vector<float>>(std::move(q->scales));
    scales_of[index] = scales;
    const bool per_tensor = plan.per_tensor;
    const std::string name = plan.tensor_name;
    // The producer repeats the same deterministic quantization from the float source.
    model.buffers[index] = graph::Buffer::Lazy(
        static_cast<size_t>(count),
        [original, rows, per_tensor, name](std::span<uint8_t> out) -> Status {
          LITEQ_ASSIGN_OR_RETURN(std::vector<float> floats, ReadFloats(original));
          Result<SymmetricWeights> w = QuantizeInt8(floats, rows, per_tensor);
          if (!w.ok()) return w.status().WithContext("quantizing '" + name + "'");
          if (w->values.size() != out.size()) {
            return InternalError("quantizing '" + name + "': size changed");
          }
          std::memcpy(out.data(), w->values.data(), out.size());
          return Status::Ok();
        });
    ++report.quantized_buffers;
    if (per_tensor) ++report.per_tensor_buffers;
    report.float_bytes += original.size;
    report.int8_bytes += static_cast<size_t>(count);
  }

  // 3. Every tensor on a quantized buffer becomes the output of a DEQUANTIZE of a new
  // int8 tensor, so all its consumers (in every subgraph) keep reading float.
  for (graph::Subgraph& sg : model.subgraphs) {
    std::vector<graph::Op> dequantize_ops;
    const size_t original_tensors = sg.tensors.size();
    for (size_t t = 0; t < original_tensors; ++t) {
      auto it = scales_of.find(sg.tensors[t].buffer);
      if (sg.tensors[t].buffer == 0 || it == scales_of.end()) continue;
      if (sg.tensors[t].dtype != DType::kFloat32 ||
          sg.tensors[t].shape != plans.at(it->first).shape) {
        return InvalidArgumentError("weight-only int8: tensor '" + sg.tensors[t].name +
                                    "' shares quantized buffer " + std::to_string(it->first) +
                                    " with a different type or shape");
      }
      graph::Tensor q;
      q.name = sg.tensors[t].name + ".int8";
      q.dtype = DType::kInt8;
      q.shape = sg.tensors[t].shape;
      q.buffer = sg.tensors[t].buffer;
      q.quant.scale = *it->second;
      q.quant.zero_point.assign(q.quant.scale.size(), 0);
      q.quant.quantized_dimension = 0;
      sg.tensors[t].buffer = 0;  // now an activation written by DEQUANTIZE
      sg.tensors.push_back(std::move(q));
      graph::Op op;
      op.code = OpCode::kDequantize;
      op.inputs = {static_cast<int32_t>(sg.tensors.size() - 1)};
      op.outputs = {static_cast<int32_t>(t)};
      dequantize_ops.push_back(std::move(op));
    }
    report.dequantize_ops += static_cast<int>(dequantize_ops.size());
    // At the start of the subgraph: they read constants only.
    sg.ops.insert(sg.ops.begin(), dequantize_ops.begin(), dequantize_ops.end());
  }
  return report;
}

}  // namespace liteq::quant
