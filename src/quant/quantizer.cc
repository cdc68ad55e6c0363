#include "quant/quantizer.h"

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "quant/quant_params.h"
#include "quant/rewrite_util.h"

namespace liteq::quant {
namespace {

using graph::DType;
using graph::OpCode;

// How one float buffer will be quantized.
struct BufferPlan {
  bool per_tensor = false;
  int bits = 8;
  int64_t block_size = 0;      // int4 blockwise
  std::vector<int32_t> shape;  // of the first tensor using it (all uses must agree)
  std::string tensor_name;
};

}  // namespace

Result<QuantizeReport> QuantizeWeightOnly(graph::Model& model, const WeightOnlyOptions& options) {
  // 1. Which buffers, and which of them hold the token embedding.
  std::map<uint32_t, BufferPlan> plans;
  std::set<uint32_t> embedding_buffers;
  auto want = [&](const graph::Tensor& t, bool embedding) -> Status {
    if (options.float_buffers.count(t.buffer) != 0) return Status::Ok();
    auto [it, inserted] = plans.try_emplace(t.buffer);
    BufferPlan& plan = it->second;
    if (inserted) {
      plan.shape = t.shape;
      plan.tensor_name = t.name;
    } else if (plan.shape != t.shape) {
      return InvalidArgumentError("weight-only: buffer " + std::to_string(t.buffer) +
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

  QuantizeReport report;
  for (auto& [index, plan] : plans) {
    const bool embedding = embedding_buffers.count(index) != 0;
    Granularity g = embedding ? options.embedding_granularity : options.granularity;
    // int4 applies to the linear layers; an embedding table (even when tied to the lm
    // head) stays int8, as the PyTorch reference simulation does.
    int64_t block_size = options.block_size;
    plan.bits = options.bits == 4 && !embedding ? 4 : 8;
    if (auto o = options.overrides.find(index); o != options.overrides.end()) {
      if (o->second.granularity) g = *o->second.granularity;
      plan.bits = o->second.bits;
      block_size = o->second.block_size;
      if (plan.bits == 4 && embedding) {
        return InvalidArgumentError("weight-only: '" + plan.tensor_name +
                                    "' is the token embedding table, which stays int8");
      }
    }
    plan.per_tensor = g == Granularity::kPerTensor;
    if (plan.bits == 4) {
      plan.block_size = block_size;
      // A matrix narrower than a block, or not a whole number of blocks (gemma3n's
      // AltUp coefficients [16, 4], LAuReL [64, 8]), takes int4 per channel instead, as
      // llama.cpp gives such tensors another type.
      if (plan.block_size > 0 && plan.shape[1] % plan.block_size != 0) {
        plan.block_size = 0;
        ++report.per_channel_fallback_buffers;
      }
    }
  }

  // 2. Scales now (one float tensor in memory at a time), integer bytes lazily.
  std::map<uint32_t, std::shared_ptr<const std::vector<float>>> scales_of;
  for (auto& [index, plan] : plans) {
    const graph::Buffer original = model.buffers[index];
    const int64_t rows = plan.shape[0];
    const int64_t count = NumElements(plan.shape);
    const int64_t cols = count / rows;
    if (original.size != graph::TensorBytes(DType::kFloat32, count)) {
      return InvalidArgumentError("weight-only: buffer " + std::to_string(index) + " of '" +
                                  plan.tensor_name + "' has " + std::to_string(original.size) +
                                  " bytes, not float32 of its shape");
    }
    const WeightLayout layout{rows, cols, plan.per_tensor, plan.bits, plan.block_size};
    LITEQ_ASSIGN_OR_RETURN(std::vector<float> scales,
                           StreamedSymmetricScales(original, layout, plan.tensor_name));
    scales_of[index] = std::make_shared<const std::vector<float>>(std::move(scales));
    model.buffers[index] = LazySymmetricWeights(original, layout, plan.tensor_name);
    ++report.quantized_buffers;
    if (plan.per_tensor) ++report.per_tensor_buffers;
    report.float_bytes += original.size;
    report.int8_bytes += model.buffers[index].size;
  }

  // 3. Every tensor on a quantized buffer becomes the output of a DEQUANTIZE of a new
  // int8 tensor, so all its consumers (in every subgraph) keep reading float.
  for (graph::Subgraph& sg : model.subgraphs) {
    std::vector<graph::Op> dequantize_ops, reshape_ops;
    const size_t original_tensors = sg.tensors.size();
    for (size_t t = 0; t < original_tensors; ++t) {
      auto it = scales_of.find(sg.tensors[t].buffer);
      if (sg.tensors[t].buffer == 0 || it == scales_of.end()) continue;
      if (sg.tensors[t].dtype != DType::kFloat32 ||
          sg.tensors[t].shape != plans.at(it->first).shape) {
        return InvalidArgumentError("weight-only: tensor '" + sg.tensors[t].name +
                                    "' shares quantized buffer " + std::to_string(it->first) +
                                    " with a different type or shape");
      }
      const BufferPlan& plan = plans.at(it->first);
      graph::Tensor q;
      q.name = sg.tensors[t].name + (plan.bits == 4 ? ".int4" : ".int8");
      q.dtype = plan.bits == 4 ? DType::kInt4 : DType::kInt8;
      q.shape = sg.tensors[t].shape;
      q.buffer = sg.tensors[t].buffer;
      q.quant.scale = *it->second;
      q.quant.zero_point.assign(q.quant.scale.size(), 0);
      q.quant.quantized_dimension = 0;
      sg.tensors[t].buffer = 0;  // now an activation written by DEQUANTIZE (or RESHAPE)
      int32_t dequantized = static_cast<int32_t>(t);
      if (plan.block_size > 0) {
        // Blockwise: the schema's per-axis parameters give one scale per block when
        // the weights are viewed as [rows * cols / block, block]; DEQUANTIZE that view
        // and RESHAPE back, all builtin ops any LiteRT runtime runs.
        const int32_t rows = plan.shape[0];
        const int32_t cols = static_cast<int32_t>(NumElements(plan.shape) / rows);
        const int32_t block = static_cast<int32_t>(plan.block_size);
        q.shape = {rows * (cols / block), block};
        graph::Tensor view;
        view.name = sg.tensors[t].name + ".blocks";
        view.shape = q.shape;
        sg.tensors.push_back(std::move(view));
        dequantized = static_cast<int32_t>(sg.tensors.size() - 1);
        graph::Tensor shape_t;
        shape_t.name = sg.tensors[t].name + ".shape";
        shape_t.dtype = DType::kInt32;
        shape_t.shape = {static_cast<int32_t>(plan.shape.size())};
        shape_t.buffer = model.AddBuffer(graph::Buffer::FromValues(plan.shape));
        sg.tensors.push_back(std::move(shape_t));
        graph::Op reshape;
        reshape.code = OpCode::kReshape;
        reshape.inputs = {dequantized, static_cast<int32_t>(sg.tensors.size() - 1)};
        reshape.outputs = {static_cast<int32_t>(t)};
        reshape.options = graph::ReshapeOptions{plan.shape};
        reshape_ops.push_back(std::move(reshape));
      }
      sg.tensors.push_back(std::move(q));
      graph::Op op;
      op.code = OpCode::kDequantize;
      op.inputs = {static_cast<int32_t>(sg.tensors.size() - 1)};
      op.outputs = {dequantized};
      dequantize_ops.push_back(std::move(op));
    }
    report.dequantize_ops += static_cast<int>(dequantize_ops.size());
    // At the start of the subgraph: they read constants only.
    dequantize_ops.insert(dequantize_ops.end(), reshape_ops.begin(), reshape_ops.end());
    sg.ops.insert(sg.ops.begin(), dequantize_ops.begin(), dequantize_ops.end());
  }
  return report;
}

}  // namespace liteq::quant
