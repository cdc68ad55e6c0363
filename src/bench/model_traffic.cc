// Memory traffic and arithmetic per token (model_traffic.h).
#include "bench/model_traffic.h"

#include <algorithm>
#include <set>
#include <string>

namespace liteq::bench {
namespace {

// The constant a weight operand comes from: itself, or the constant input of the
// DEQUANTIZE that produces it; -1 when it is computed.
int32_t ConstantSource(const graph::Subgraph& sg, int32_t tensor,
                       const std::vector<int32_t>& producer) {
  if (tensor < 0 || static_cast<size_t>(tensor) >= sg.tensors.size()) return -1;
  if (sg.tensors[tensor].buffer != 0) return tensor;
  const int32_t p = producer[tensor];
  if (p < 0) return -1;
  const graph::Op& op = sg.ops[p];
  if (op.code != graph::OpCode::kDequantize || op.inputs.empty()) return -1;
  const int32_t in = op.inputs[0];
  if (in < 0 || static_cast<size_t>(in) >= sg.tensors.size() || sg.tensors[in].buffer == 0)
    return -1;
  return in;
}

// The constant weight of the FULLY_CONNECTED that produces `tensor` through ops that
// keep rows (the output head of `logits`), or -1.
int32_t OutputHeadWeight(const graph::Subgraph& sg, int32_t tensor,
                         const std::vector<int32_t>& producer) {
  for (size_t hops = 0; hops < sg.ops.size(); ++hops) {
    if (tensor < 0 || static_cast<size_t>(tensor) >= producer.size()) return -1;
    const int32_t p = producer[tensor];
    if (p < 0) return -1;
    const graph::Op& op = sg.ops[p];
    if (op.code == graph::OpCode::kFullyConnected) {
      return op.inputs.size() >= 2 ? ConstantSource(sg, op.inputs[1], producer) : -1;
    }
    switch (op.code) {
      case graph::OpCode::kReshape:
      case graph::OpCode::kDequantize:
      case graph::OpCode::kQuantize:
      case graph::OpCode::kTanh:
      case graph::OpCode::kLogistic:
      case graph::OpCode::kMul:
      case graph::OpCode::kDiv:
        break;
      default:
        return -1;
    }
    // The row-carrying input: the one that is not a constant (a shape or a scalar).
    const auto computed = std::find_if(op.inputs.begin(), op.inputs.end(), [&](int32_t in) {
      return in >= 0 && static_cast<size_t>(in) < sg.tensors.size() && sg.tensors[in].buffer == 0;
    });
    if (computed == op.inputs.end()) return -1;
    tensor = *computed;
  }
  return -1;
}

}  // namespace

ModelTraffic AnalyzeTraffic(const graph::Model& model) {
  ModelTraffic t;
  const graph::Signature* decode = nullptr;
  for (const graph::Signature& s : model.signatures) {
    if (s.key == "decode") decode = &s;
  }
  if (decode == nullptr || decode->subgraph >= model.subgraphs.size()) return t;
  t.found_decode = true;
  const graph::Subgraph& sg = model.subgraphs[decode->subgraph];
  std::vector<int32_t> producer(sg.tensors.size(), -1);
  for (size_t i = 0; i < sg.ops.size(); ++i) {
    for (int32_t out : sg.ops[i].outputs) {
      if (out >= 0 && static_cast<size_t>(out) < producer.size())
        producer[out] = static_cast<int32_t>(i);
    }
  }
  std::set<uint32_t> buffers;
  for (const graph::Op& op : sg.ops) {
    if (op.code != graph::OpCode::kFullyConnected && op.code != graph::OpCode::kBatchMatmul)
      continue;
    for (size_t k = 0; k < op.inputs.size() && k < 2; ++k) {
      const int32_t c = ConstantSource(sg, op.inputs[k], producer);
      if (c < 0) continue;
      const graph::Tensor& w = sg.tensors[c];
      // FC weights are [rows, depth]: one multiply-accumulate per element per token.
      t.weight_macs_per_token += w.num_elements();
      if (w.dtype == graph::DType::kInt8 || w.dtype == graph::DType::kInt4)
        t.integer_weights = true;
      if (buffers.insert(w.buffer).second && w.buffer < model.buffers.size()) {
        t.weight_bytes_per_token += static_cast<int64_t>(model.buffers[w.buffer].size);
      }
    }
  }
  for (const auto& [name, index] : decode->outputs) {
    if (name != "logits") continue;
    const int32_t head = OutputHeadWeight(sg, index, producer);
    if (head >= 0) t.output_head_macs = sg.tensors[head].num_elements();
  }
  for (const auto& [name, index] : decode->inputs) {
    if (name.rfind("kv_cache_", 0) != 0 || index < 0 ||
        static_cast<size_t>(index) >= sg.tensors.size()) {
      continue;
    }
    const graph::Tensor& cache = sg.tensors[index];
    if (cache.shape.size() < 2 || cache.shape[1] <= 0) continue;
    t.kv_bytes_per_position +=
        static_cast<int64_t>(graph::TensorBytes(cache.dtype, cache.num_elements())) /
        cache.shape[1];
  }
  return t;
}

}  // namespace liteq::bench
