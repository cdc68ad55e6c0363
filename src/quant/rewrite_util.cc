#include "quant/rewrite_util.h"

#include <cstring>

namespace liteq::quant {

using graph::DType;
using graph::OpCode;

bool IsFloatConstant(const graph::Model& model, const graph::Tensor& t) {
  return t.dtype == DType::kFloat32 && t.buffer != 0 && t.buffer < model.buffers.size() &&
         !model.buffers[t.buffer].empty() && t.quant.empty();
}

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

Result<std::vector<float>> ReadFloats(const graph::Buffer& buffer) {
  // Straight into the result: a lazy buffer's producer writes the floats once, with
  // no intermediate byte copy (the largest tensor sets quantize's peak memory).
  std::vector<float> values(buffer.size / sizeof(float));
  const std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(values.data()),
                                 values.size() * sizeof(float));
  if (buffer.resident()) {
    if (!bytes.empty()) std::memcpy(bytes.data(), buffer.data, bytes.size());
  } else {
    LITEQ_RETURN_IF_ERROR(buffer.producer(bytes));
  }
  return values;
}

Result<SymmetricWeights> QuantizeSymmetric(std::span<const float> values, int64_t rows,
                                           bool per_tensor, int bits) {
  if (per_tensor) return QuantizeWeightsPerTensor(values, bits);
  return QuantizeWeightsPerChannel(values, rows, static_cast<int64_t>(values.size()) / rows, bits);
}

namespace {

Result<SymmetricWeights> QuantizeLayout(std::span<const float> values, int64_t rows, int64_t cols,
                                        bool per_tensor, int bits, int64_t block_size) {
  if (block_size > 0) return QuantizeWeightsBlockwise(values, rows, cols, block_size, bits);
  return QuantizeSymmetric(values, rows, per_tensor, bits);
}

}  // namespace

graph::Buffer LazySymmetricWeights(graph::Buffer original, int64_t rows, int64_t cols,
                                   bool per_tensor, int bits, int64_t block_size,
                                   std::string name) {
  const int64_t count = rows * cols;
  const size_t bytes = graph::TensorBytes(bits == 4 ? DType::kInt4 : DType::kInt8, count);
  return graph::Buffer::Lazy(
      bytes,
      [original = std::move(original), rows, cols, per_tensor, bits, block_size,
       name = std::move(name)](std::span<uint8_t> out) -> Status {
        LITEQ_ASSIGN_OR_RETURN(std::vector<float> floats, ReadFloats(original));
        Result<SymmetricWeights> w =
            QuantizeLayout(floats, rows, cols, per_tensor, bits, block_size);
        if (!w.ok()) return w.status().WithContext("quantizing '" + name + "'");
        if (bits == 4) {
          const std::vector<uint8_t> packed = PackInt4(w->values);
          if (packed.size() != out.size())
            return InternalError("quantizing '" + name + "': size changed");
          std::memcpy(out.data(), packed.data(), out.size());
          return Status::Ok();
        }
        if (w->values.size() != out.size()) {
          return InternalError("quantizing '" + name + "': size changed");
        }
        std::memcpy(out.data(), w->values.data(), out.size());
        return Status::Ok();
      });
}

graph::QuantParams TensorParams(QuantParams params) {
  graph::QuantParams q;
  q.scale = {params.scale};
  q.zero_point = {params.zero_point};
  return q;
}

int64_t NumElements(const std::vector<int32_t>& shape) {
  int64_t n = 1;
  for (int32_t d : shape) n *= d;
  return n;
}

}  // namespace liteq::quant
