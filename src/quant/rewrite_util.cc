#include "quant/rewrite_util.h"

#include <cmath>
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

graph::Buffer EditedBuffer(graph::Buffer original, std::function<void(std::span<float>)> edit) {
  const size_t size = original.size;
  return graph::Buffer::Lazy(
      size,
      [original = std::move(original), edit = std::move(edit)](std::span<uint8_t> dst) -> Status {
        LITEQ_ASSIGN_OR_RETURN(std::vector<float> values, ReadFloats(original));
        if (values.size() * sizeof(float) != dst.size()) {
          return InternalError("scaled buffer: size changed");
        }
        edit(values);
        std::memcpy(dst.data(), values.data(), dst.size());
        return Status::Ok();
      });
}

void RenameBufferTensors(graph::Model& model, uint32_t buffer, const std::string& suffix) {
  if (suffix.empty()) return;
  for (graph::Subgraph& sg : model.subgraphs) {
    for (graph::Tensor& t : sg.tensors) {
      if (t.buffer == buffer) t.name += suffix;
    }
  }
}

Status CheckChannelScales(std::span<const float> s, int64_t channels, const std::string& what) {
  if (static_cast<int64_t>(s.size()) != channels) {
    return InvalidArgumentError(what + ": " + std::to_string(s.size()) + " scales for " +
                                std::to_string(channels) + " channels");
  }
  for (float v : s) {
    if (!std::isfinite(v) || v == 0.0f) {
      return InvalidArgumentError(what + ": scales must be finite and non-zero");
    }
  }
  return Status::Ok();
}

}  // namespace liteq::quant
