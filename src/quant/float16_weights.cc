#include "quant/float16_weights.h"

#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "common/half.h"
#include "quant/rewrite_util.h"

namespace liteq::quant {

using graph::DType;

Result<Float16Report> StoreAsFloat16(graph::Model& model, const std::vector<std::string>& names) {
  Float16Report report;
  std::map<uint32_t, std::string> converted;  // buffer -> tensor name
  for (const std::string& name : names) {
    bool found = false;
    for (const graph::Subgraph& sg : model.subgraphs) {
      for (const graph::Tensor& t : sg.tensors) {
        if (t.name != name || t.buffer == 0 || t.dtype != DType::kFloat32 || !t.quant.empty()) {
          continue;
        }
        found = true;
        converted.emplace(t.buffer, name);
      }
    }
    if (!found) return InvalidArgumentError("the model has no float32 constant '" + name + "'");
  }
  for (const auto& [index, name] : converted) {
    const graph::Buffer original = model.buffers[index];
    if (original.size % sizeof(float) != 0) {
      return InvalidArgumentError("'" + name + "': buffer is not float32");
    }
    const size_t count = original.size / sizeof(float);
    model.buffers[index] = graph::Buffer::Lazy(
        count * sizeof(uint16_t), [original, count, name = name](std::span<uint8_t> out) -> Status {
          LITEQ_ASSIGN_OR_RETURN(std::vector<float> values, ReadFloats(original));
          if (values.size() != count) return InternalError("'" + name + "': size changed");
          for (size_t i = 0; i < count; ++i) {
            if (std::isfinite(values[i]) && std::fabs(values[i]) > 65504.0f) {
              return OutOfRangeError("'" + name + "': value " + std::to_string(values[i]) +
                                     " at element " + std::to_string(i) +
                                     " is beyond the float16 range");
            }
            const uint16_t h = FloatToFp16(values[i]);
            std::memcpy(out.data() + 2 * i, &h, sizeof(h));
          }
          return Status::Ok();
        });
    ++report.buffers;
    report.float32_bytes += original.size;
    report.float16_bytes += model.buffers[index].size;
  }
  for (graph::Subgraph& sg : model.subgraphs) {
    std::vector<graph::Op> dequantize_ops;
    const size_t original_tensors = sg.tensors.size();
    for (size_t t = 0; t < original_tensors; ++t) {
      if (sg.tensors[t].buffer == 0 || converted.count(sg.tensors[t].buffer) == 0) continue;
      graph::Tensor half;
      half.name = sg.tensors[t].name + ".fp16";
      half.dtype = DType::kFloat16;
      half.shape = sg.tensors[t].shape;
      half.buffer = sg.tensors[t].buffer;
      sg.tensors[t].buffer = 0;  // now written by DEQUANTIZE
      sg.tensors.push_back(std::move(half));
      graph::Op op;
      op.code = graph::OpCode::kDequantize;
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

std::vector<std::string> PositionTableNames(const graph::Model& model) {
  std::set<std::string> names;
  for (const graph::Signature& sig : model.signatures) {
    for (const auto& [input, position] : sig.inputs) {
      if (input != "input_pos") continue;
      const graph::Subgraph& sg = model.subgraphs[sig.subgraph];
      for (const graph::Op& op : sg.ops) {
        if (op.code != graph::OpCode::kGather || op.inputs.size() != 2 ||
            op.inputs[1] != position) {
          continue;
        }
        const graph::Tensor& table = sg.tensors[op.inputs[0]];
        if (table.buffer != 0 && table.dtype == DType::kFloat32 && table.quant.empty()) {
          names.insert(table.name);
        }
      }
    }
  }
  return {names.begin(), names.end()};
}

}  // namespace liteq::quant
