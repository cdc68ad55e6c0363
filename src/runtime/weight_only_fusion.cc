#include "runtime/weight_only_fusion.h"

#include <cmath>
#include <map>
#include <variant>

namespace liteq::runtime {
namespace {

using graph::DType;
using graph::OpCode;

int64_t Elements(const std::vector<int32_t>& shape) {
  int64_t n = 1;
  for (int32_t d : shape) n *= d;
  return n;
}

// A lookup table the GATHER kernel dequantizes row by row: symmetric, one scale or
// one per row (quantized_dimension 0), every scale finite and positive.
bool TableQuantization(const graph::Tensor& t) {
  const auto& quant = t.quant;
  const bool per_row = quant.scale.size() == static_cast<size_t>(t.shape[0]) &&
                       quant.quantized_dimension == 0;
  if (quant.block_size != 0 || (quant.scale.size() != 1 && !per_row) ||
      (!quant.zero_point.empty() && quant.zero_point.size() != quant.scale.size()))
    return false;
  for (int64_t zp : quant.zero_point) {
    if (zp != 0) return false;
  }
  for (float s : quant.scale) {
    if (!(s > 0.0f) || !std::isfinite(s)) return false;
  }
  return true;
}

}  // namespace

WeightOnlyPlan FindWeightOnlyFullyConnected(const graph::Subgraph& sg,
                                            const std::vector<bool>& plain,
                                            std::span<const uint8_t* const> constants) {
  const int num_ops = static_cast<int>(sg.ops.size());
  std::vector<int> producer(sg.tensors.size(), -1);
  std::vector<std::vector<int>> readers(sg.tensors.size());
  for (int i = 0; i < num_ops; ++i) {
    for (int32_t t : sg.ops[i].inputs) {
      if (t >= 0) readers[t].push_back(i);
    }
    for (int32_t t : sg.ops[i].outputs) {
      if (t >= 0) producer[t] = i;
    }
  }
  auto single_output_op = [&](int32_t t, OpCode code) -> const graph::Op* {
    if (t < 0 || !plain[t] || producer[t] < 0) return nullptr;
    const graph::Op& op = sg.ops[producer[t]];
    if (op.code != code || op.outputs.size() != 1 || op.inputs.empty()) return nullptr;
    return &op;
  };

  WeightOnlyPlan plan;
  std::map<int, bool> fc_planned;      // op -> planned
  std::map<int, bool> gather_planned;  // op -> planned
  // Chains per planned op: the tensors between the constant and the FC (or GATHER).
  std::map<int32_t, std::vector<int32_t>> chain_of_fc;
  for (int i = 0; i < num_ops; ++i) {
    const graph::Op& fc = sg.ops[i];
    if (fc.code != OpCode::kFullyConnected || fc.inputs.size() < 2 || fc.outputs.size() != 1)
      continue;
    const int32_t w = fc.inputs[1];
    if (sg.tensors[fc.inputs[0]].dtype != DType::kFloat32 ||
        sg.tensors[w].dtype != DType::kFloat32 || sg.tensors[w].shape.size() != 2)
      continue;
    std::vector<int32_t> chain = {w};
    const graph::Op* deq = single_output_op(w, OpCode::kDequantize);
    if (deq == nullptr) {
      const graph::Op* reshape = single_output_op(w, OpCode::kReshape);
      if (reshape == nullptr) continue;
      chain.push_back(reshape->inputs[0]);
      deq = single_output_op(reshape->inputs[0], OpCode::kDequantize);
      if (deq == nullptr) continue;
    }
    const int32_t q = deq->inputs[0];
    const graph::Tensor& qt = sg.tensors[q];
    if (constants[q] == nullptr || (qt.dtype != DType::kInt8 && qt.dtype != DType::kInt4) ||
        qt.shape.size() < 2 || !qt.quant.per_axis() || qt.quant.quantized_dimension != 0 ||
        qt.quant.block_size != 0 ||
        qt.quant.scale.size() != static_cast<size_t>(qt.shape[0]) ||
        qt.quant.zero_point.size() != qt.quant.scale.size())
      continue;
    bool zero = true;
    for (int64_t zp : qt.quant.zero_point) zero = zero && zp == 0;
    const int64_t block = Elements(qt.shape) / qt.shape[0];
    const int64_t cols = sg.tensors[w].shape[1];
    if (!zero || block <= 0 || cols % block != 0 ||
        Elements(qt.shape) != Elements(sg.tensors[w].shape))
      continue;
    plan.fcs.push_back({i, q, block});
    fc_planned[i] = true;
    chain_of_fc[i] = chain;
  }
  for (int i = 0; i < num_ops; ++i) {
    const graph::Op& op = sg.ops[i];
    if (op.code != OpCode::kGather || op.inputs.size() != 2 || op.outputs.size() != 1) continue;
    const graph::Op* deq = single_output_op(op.inputs[0], OpCode::kDequantize);
    if (deq == nullptr || op.inputs[1] < 0 || op.inputs[1] == op.inputs[0] ||
        sg.tensors[op.inputs[1]].dtype != DType::kInt32 ||
        sg.tensors[op.outputs[0]].dtype != DType::kFloat32)
      continue;
    graph::GatherOptions options;  // absent: axis 0, as PrepareGather reads it
    if (const auto* o = std::get_if<graph::GatherOptions>(&op.options)) options = *o;
    const int32_t q = deq->inputs[0];
    const graph::Tensor& qt = sg.tensors[q];
    const int rank = static_cast<int>(qt.shape.size());
    if ((options.axis != 0 && options.axis != -rank) || options.batch_dims != 0 ||
        constants[q] == nullptr ||
        (qt.dtype != DType::kInt8 && qt.dtype != DType::kInt4) || rank < 1 ||
        !TableQuantization(qt))
      continue;
    plan.fcs.push_back({i, q, 0, true});
    gather_planned[i] = true;
    chain_of_fc[i] = {op.inputs[0]};
  }
  // A DEQUANTIZE (and RESHAPE) is dropped when all readers of what it writes are
  // planned FCs (reading it as weights), planned GATHERs (reading it as the table) or
  // the RESHAPE between.
  std::map<int, bool> dropped;
  for (const auto& [fc, chain] : chain_of_fc) {
    bool all_planned = true;
    for (size_t c = 0; c < chain.size(); ++c) {
      for (int r : readers[chain[c]]) {
        const bool is_next = c > 0 && producer[chain[c - 1]] == r;
        const bool planned_fc = fc_planned.count(r) != 0 && sg.ops[r].inputs[1] == chain[c] &&
                                sg.ops[r].inputs[0] != chain[c];
        const bool planned_gather = gather_planned.count(r) != 0 &&
                                    sg.ops[r].inputs[0] == chain[c] &&
                                    sg.ops[r].inputs[1] != chain[c];
        if (!is_next && !planned_fc && !planned_gather) all_planned = false;
      }
    }
    if (!all_planned) continue;
    for (int32_t t : chain) {
      if (!dropped[producer[t]]) {
        dropped[producer[t]] = true;
        plan.absorbed_ops.push_back(producer[t]);
        plan.absorbed_tensors.push_back(t);
      }
    }
  }
  return plan;
}

}  // namespace liteq::runtime
