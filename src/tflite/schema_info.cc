#include "tflite/schema_info.h"

#include "tflite/liteq_tflite_generated.h"

namespace liteq::tflite {

std::string BuiltinOperatorName(int32_t code) {
  const char* name =
      ::tflite::EnumNameBuiltinOperator(static_cast<::tflite::BuiltinOperator>(code));
  if (name == nullptr || *name == '\0') return "UNKNOWN(" + std::to_string(code) + ")";
  return name;
}

std::string TensorTypeName(int32_t type) {
  if (type < ::tflite::TensorType_MIN || type > ::tflite::TensorType_MAX) {
    return "UNKNOWN(" + std::to_string(type) + ")";
  }
  return ::tflite::EnumNameTensorType(static_cast<::tflite::TensorType>(type));
}

std::map<std::string, int> CountOps(const graph::Model& model, int subgraph) {
  std::map<std::string, int> counts;
  for (size_t s = 0; s < model.subgraphs.size(); ++s) {
    if (subgraph >= 0 && static_cast<size_t>(subgraph) != s) continue;
    for (const graph::Op& op : model.subgraphs[s].ops) {
      ++counts[BuiltinOperatorName(static_cast<int32_t>(op.code))];
    }
  }
  return counts;
}

}  // namespace liteq::tflite
