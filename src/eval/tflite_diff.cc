#include "eval/tflite_diff.h"

#include <algorithm>
#include <set>

namespace liteq::eval {
namespace {

std::string ShapeText(const std::vector<int32_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string Storage(const TensorSummary& t) {
  if (!t.dequantized_from.empty()) return "DEQUANTIZE of " + t.dequantized_from + " constant";
  return t.constant ? "constant" : "activation";
}

std::string Describe(const TensorSummary& t) {
  return t.dtype + " " + ShapeText(t.shape) + " " + Storage(t);
}

// Keys unique within a model: a repeated name gets "#<k>" for its k-th repeat.
template <typename T, typename KeyOf>
std::map<std::string, const T*> IndexByKey(const std::vector<T>& items, KeyOf key_of) {
  std::map<std::string, const T*> index;
  std::map<std::string, int> seen;
  for (const T& item : items) {
    std::string key = key_of(item);
    const int n = seen[key]++;
    if (n > 0) key += "#" + std::to_string(n);
    index.emplace(std::move(key), &item);
  }
  return index;
}

}  // namespace

ModelDiff DiffModels(const ModelSummary& first, const ModelSummary& second) {
  ModelDiff diff;
  const auto tensor_key = [](const TensorSummary& t) { return t.subgraph + "/" + t.name; };
  const auto a_tensors = IndexByKey(first.tensors, tensor_key);
  const auto b_tensors = IndexByKey(second.tensors, tensor_key);
  for (const auto& [key, a] : a_tensors) {
    auto it = b_tensors.find(key);
    if (it == b_tensors.end()) {
      diff.only_in_first.push_back(key);
      ++diff.only_in_first_kinds[a->dtype + " " + Storage(*a)];
      continue;
    }
    const TensorSummary& b = *it->second;
    TensorChange c;
    c.key = key;
    c.dtype_changed = a->dtype != b.dtype;
    c.shape_changed = a->shape != b.shape;
    c.storage_changed = Storage(*a) != Storage(b);
    c.quant_before = QuantizationText(*a);
    c.quant_after = QuantizationText(b);
    c.quantization_changed = c.quant_before != c.quant_after;
    if (c.dtype_changed || c.shape_changed || c.storage_changed || c.quantization_changed) {
      c.before = Describe(*a);
      c.after = Describe(b);
      diff.changed_tensors.push_back(std::move(c));
    }
  }
  for (const auto& [key, b] : b_tensors) {
    if (a_tensors.count(key) == 0) {
      diff.only_in_second.push_back(key);
      ++diff.only_in_second_kinds[b->dtype + " " + Storage(*b)];
    }
  }

  std::set<std::string> op_types;
  for (const auto& [op, n] : first.op_counts) op_types.insert(op);
  for (const auto& [op, n] : second.op_counts) op_types.insert(op);
  for (const std::string& op : op_types) {
    const auto a = first.op_counts.find(op);
    const auto b = second.op_counts.find(op);
    const int na = a == first.op_counts.end() ? 0 : a->second;
    const int nb = b == second.op_counts.end() ? 0 : b->second;
    if (na != nb) diff.op_count_changes[op] = {na, nb};
  }

  const auto op_key = [](const OpSummary& o) { return o.subgraph + "/" + o.output; };
  const auto a_ops = IndexByKey(first.ops, op_key);
  const auto b_ops = IndexByKey(second.ops, op_key);
  for (const auto& [key, a] : a_ops) {
    auto it = b_ops.find(key);
    if (it == b_ops.end() || it->second->op != a->op) {
      ++diff.ops_only_in_first[a->op];
      continue;
    }
    const OpSummary& b = *it->second;
    ++diff.matched_ops;
    if (a->compute != b.compute) {
      ++diff.compute_class_moves[a->op + ": " + ComputeClassName(a->compute) + " -> " +
                                 ComputeClassName(b.compute)];
    }
    const size_t inputs = std::min(a->input_dtypes.size(), b.input_dtypes.size());
    for (size_t i = 0; i < inputs; ++i) {
      if (a->input_dtypes[i] != b.input_dtypes[i]) {
        ++diff.input_dtype_changes[a->op + " input " + std::to_string(i) + ": " +
                                   a->input_dtypes[i] + " -> " + b.input_dtypes[i]];
      }
    }
    if (a->dtypes != b.dtypes || a->compute != b.compute) {
      diff.changed_ops.push_back({key, a->op, a->dtypes, b.dtypes, ComputeClassName(a->compute),
                                  ComputeClassName(b.compute)});
    }
  }
  for (const auto& [key, b] : b_ops) {
    auto it = a_ops.find(key);
    if (it == a_ops.end() || it->second->op != b->op) ++diff.ops_only_in_second[b->op];
  }
  return diff;
}

nlohmann::json DiffToJson(const ModelDiff& diff) {
  nlohmann::json j;
  nlohmann::json changed = nlohmann::json::array();
  for (const TensorChange& c : diff.changed_tensors) {
    changed.push_back({{"key", c.key},
                       {"before", c.before},
                       {"after", c.after},
                       {"quantization_before", c.quant_before},
                       {"quantization_after", c.quant_after},
                       {"dtype_changed", c.dtype_changed},
                       {"shape_changed", c.shape_changed},
                       {"storage_changed", c.storage_changed},
                       {"quantization_changed", c.quantization_changed}});
  }
  j["changed_tensors"] = changed;
  j["only_in_first"] = diff.only_in_first;
  j["only_in_second"] = diff.only_in_second;
  j["only_in_first_kinds"] = diff.only_in_first_kinds;
  j["only_in_second_kinds"] = diff.only_in_second_kinds;
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& [op, n] : diff.op_count_changes)
    counts[op] = {{"first", n.first}, {"second", n.second}};
  j["op_count_changes"] = counts;
  nlohmann::json ops = nlohmann::json::array();
  for (const OpChange& c : diff.changed_ops) {
    ops.push_back({{"key", c.key},
                   {"op", c.op},
                   {"dtypes_before", c.dtypes_before},
                   {"dtypes_after", c.dtypes_after},
                   {"class_before", c.class_before},
                   {"class_after", c.class_after}});
  }
  j["changed_ops"] = ops;
  j["compute_class_moves"] = diff.compute_class_moves;
  j["input_dtype_changes"] = diff.input_dtype_changes;
  j["ops_only_in_first"] = diff.ops_only_in_first;
  j["ops_only_in_second"] = diff.ops_only_in_second;
  j["matched_ops"] = diff.matched_ops;
  return j;
}

}  // namespace liteq::eval
