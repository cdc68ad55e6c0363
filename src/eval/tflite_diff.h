// Differences between two LiteRT models (typically a float export and a quantized one),
// for `liteq inspect A B`. Tensors are matched by subgraph name + tensor name; ops by
// subgraph name + the name of their first output tensor (names are what survives a
// rewrite; indices are not).
#ifndef LITEQ_EVAL_TFLITE_DIFF_H_
#define LITEQ_EVAL_TFLITE_DIFF_H_

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "eval/tflite_summary.h"

namespace liteq::eval {

struct TensorChange {
  std::string key;           // "subgraph/tensor name"
  std::string before;        // "float32 [32000, 64] constant"
  std::string after;         // "float32 [32000, 64] DEQUANTIZE of int8 constant"
  std::string quant_before;  // QuantizationText of each side
  std::string quant_after;
  bool dtype_changed = false;
  bool shape_changed = false;
  bool storage_changed = false;  // constant / activation / dequantized constant
  bool quantization_changed = false;
};

struct OpChange {
  std::string key;  // "subgraph/first output name"
  std::string op;
  std::string dtypes_before;
  std::string dtypes_after;
  std::string class_before;
  std::string class_after;
};

struct ModelDiff {
  std::vector<TensorChange> changed_tensors;
  std::vector<std::string> only_in_first;  // tensor keys
  std::vector<std::string> only_in_second;
  // Those tensors counted by kind ("int8 constant", "float32 activation").
  std::map<std::string, int> only_in_first_kinds;
  std::map<std::string, int> only_in_second_kinds;
  std::map<std::string, std::pair<int, int>> op_count_changes;  // op type -> (first, second)
  std::vector<OpChange> changed_ops;  // matched ops (same type) whose operand dtypes changed
  // "FULLY_CONNECTED: float -> integer" for matched ops whose compute class moved.
  std::map<std::string, int> compute_class_moves;
  // "FULLY_CONNECTED input 1: float32 -> int8(deq)" for matched ops.
  std::map<std::string, int> input_dtype_changes;
  std::map<std::string, int> ops_only_in_first;  // by op type
  std::map<std::string, int> ops_only_in_second;
  int matched_ops = 0;
};

ModelDiff DiffModels(const ModelSummary& first, const ModelSummary& second);

// Stable keys: changed_tensors, only_in_first, only_in_second, op_count_changes,
// only_in_first_kinds, only_in_second_kinds, changed_ops, compute_class_moves, input_dtype_changes,
// ops_only_in_first, ops_only_in_second, matched_ops.
nlohmann::json DiffToJson(const ModelDiff& diff);

}  // namespace liteq::eval

#endif  // LITEQ_EVAL_TFLITE_DIFF_H_
