#include "quant/weight_rules.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "quant/recipe.h"  // ParseGranularity
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace liteq::quant {
namespace {

Result<tokenizer::Regex> CompileOption(const std::string& pattern, const std::string& what) {
  auto re = tokenizer::Regex::Compile(pattern);
  if (!re.ok()) return re.status().WithContext(what);
  return re;
}

Result<WeightPrecision> ParsePrecision(const std::string& name) {
  if (name == "float") return WeightPrecision::kFloat;
  if (name == "int8") return WeightPrecision::kInt8;
  if (name == "int4") return WeightPrecision::kInt4;
  return InvalidArgumentError("unknown precision '" + name + "' (supported: float, int8, int4)");
}

Status CheckKeys(const nlohmann::json& j, const std::set<std::string>& known,
                 const std::string& where) {
  for (const auto& [key, value] : j.items()) {
    if (known.count(key) == 0) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return InvalidArgumentError(where + ": unknown key '" + key + "' (known: " + list + ")");
    }
  }
  return Status::Ok();
}

// A rule's "tensors": a string that compiles as a regex.
Result<std::string> TensorsRegex(const nlohmann::json& j, const std::string& where) {
  if (!j.contains("tensors") || !j["tensors"].is_string()) {
    return InvalidArgumentError(where + " needs \"tensors\": a regex string");
  }
  std::string pattern = j["tensors"].get<std::string>();
  LITEQ_RETURN_IF_ERROR(CompileOption(pattern, where).status());
  return pattern;
}

Result<WeightRule> ParseRule(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) return InvalidArgumentError(where + " is not an object");
  LITEQ_RETURN_IF_ERROR(CheckKeys(j, {"tensors", "precision", "granularity", "block_size"}, where));
  WeightRule rule;
  LITEQ_ASSIGN_OR_RETURN(rule.tensors, TensorsRegex(j, where));
  if (!j.contains("precision") || !j["precision"].is_string()) {
    return InvalidArgumentError(where + " needs \"precision\": float, int8 or int4");
  }
  auto precision = ParsePrecision(j["precision"].get<std::string>());
  if (!precision.ok()) return precision.status().WithContext(where);
  rule.precision = *precision;
  if (j.contains("granularity")) {
    if (!j["granularity"].is_string()) return InvalidArgumentError(where + ": granularity");
    auto g = ParseGranularity(j["granularity"].get<std::string>());
    if (!g.ok()) return g.status().WithContext(where);
    rule.granularity = *g;
  }
  if (j.contains("block_size")) {
    if (!j["block_size"].is_number_integer() || rule.precision != WeightPrecision::kInt4) {
      return InvalidArgumentError(where + ": block_size is an integer, for int4 rules only");
    }
    rule.block_size = j["block_size"].get<int64_t>();
    if (*rule.block_size != 0 && *rule.block_size != 32 && *rule.block_size != 64 &&
        *rule.block_size != 128) {
      return InvalidArgumentError(where + ": block_size must be 0, 32, 64 or 128");
    }
  }
  return rule;
}

Result<ObserverRule> ParseObserverRule(const nlohmann::json& j, const std::string& where) {
  LITEQ_RETURN_IF_ERROR(CheckKeys(j, {"tensors", "observer", "percentile"}, where));
  ObserverRule rule;
  LITEQ_ASSIGN_OR_RETURN(rule.tensors, TensorsRegex(j, where));
  if (!j["observer"].is_string()) return InvalidArgumentError(where + ": observer");
  auto observer = ParseObserverKind(j["observer"].get<std::string>());
  if (!observer.ok()) return observer.status().WithContext(where);
  rule.observer = *observer;
  if (j.contains("percentile")) {
    if (!j["percentile"].is_number() || rule.observer != ObserverKind::kPercentile) {
      return InvalidArgumentError(where + ": percentile is a number, for the percentile observer");
    }
    rule.percentile = j["percentile"].get<double>();
    if (!(rule.percentile > 50.0 && rule.percentile <= 100.0)) {
      return InvalidArgumentError(where + ": percentile must be in (50, 100]");
    }
  }
  return rule;
}

// The float constant weights the recipes quantize, per op: FULLY_CONNECTED weights
// and GATHER tables; (tensor, op) pairs over all subgraphs.
struct WeightUse {
  const graph::Tensor* weight;
  const graph::Op* op;
  const graph::Subgraph* subgraph;
};

std::vector<WeightUse> WeightUses(const graph::Model& model) {
  std::vector<WeightUse> uses;
  for (const graph::Subgraph& sg : model.subgraphs) {
    for (const graph::Op& op : sg.ops) {
      int32_t w = -1;
      if (op.code == graph::OpCode::kFullyConnected && op.inputs.size() >= 2) w = op.inputs[1];
      if (op.code == graph::OpCode::kGather && !op.inputs.empty()) w = op.inputs[0];
      if (w < 0 || static_cast<size_t>(w) >= sg.tensors.size()) continue;
      const graph::Tensor& t = sg.tensors[w];
      if (t.buffer == 0 || t.dtype != graph::DType::kFloat32) continue;
      uses.push_back({&t, &op, &sg});
    }
  }
  return uses;
}

}  // namespace

bool NameMatches(const tokenizer::Regex& re, const std::string& name) {
  return !re.FindAll(tokenizer::ToValidUtf8Lossy(name)).empty();
}

Result<RecipeFile> ReadRecipeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("recipe file " + path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError("recipe file " + path + ": not JSON: " + e.what());
  }
  if (!j.is_object()) return InvalidArgumentError("recipe file " + path + ": not a JSON object");
  LITEQ_RETURN_IF_ERROR(CheckKeys(j, {"recipe", "granularity", "observer", "block_size", "rules"},
                                  "recipe file " + path));
  RecipeFile file;
  for (const char* key : {"recipe", "granularity", "observer"}) {
    if (!j.contains(key)) continue;
    if (!j[key].is_string()) {
      return InvalidArgumentError("recipe file " + path + ": \"" + key + "\" is not a string");
    }
    std::optional<std::string>& field = std::string(key) == "recipe"        ? file.recipe
                                        : std::string(key) == "granularity" ? file.granularity
                                                                            : file.observer;
    field = j[key].get<std::string>();
  }
  if (j.contains("block_size")) {
    if (!j["block_size"].is_number_integer()) {
      return InvalidArgumentError("recipe file " + path + ": \"block_size\" is not an integer");
    }
    file.block_size = j["block_size"].get<int64_t>();
  }
  if (j.contains("rules")) {
    if (!j["rules"].is_array()) {
      return InvalidArgumentError("recipe file " + path + ": \"rules\" is not an array");
    }
    for (size_t i = 0; i < j["rules"].size(); ++i) {
      const std::string where = "recipe file " + path + ": rule " + std::to_string(i);
      const nlohmann::json& r = j["rules"][i];
      if (r.is_object() && r.contains("observer")) {
        LITEQ_ASSIGN_OR_RETURN(ObserverRule rule, ParseObserverRule(r, where));
        file.observer_rules.push_back(std::move(rule));
        continue;
      }
      LITEQ_ASSIGN_OR_RETURN(WeightRule rule, ParseRule(r, where));
      file.rules.push_back(std::move(rule));
    }
  }
  return file;
}

Status ResolveWeightRules(const graph::Model& model, const std::string& float_ops,
                          const std::string& float_tensors, const std::vector<WeightRule>& rules,
                          bool int4_allowed, WeightOnlyOptions* options) {
  std::optional<tokenizer::Regex> ops_re, tensors_re;
  if (!float_ops.empty()) {
    LITEQ_ASSIGN_OR_RETURN(ops_re, CompileOption(float_ops, "--float-ops"));
  }
  if (!float_tensors.empty()) {
    LITEQ_ASSIGN_OR_RETURN(tensors_re, CompileOption(float_tensors, "--float-tensors"));
  }
  std::vector<tokenizer::Regex> rule_re;
  for (const WeightRule& rule : rules) {
    LITEQ_ASSIGN_OR_RETURN(tokenizer::Regex re, CompileOption(rule.tensors, "rule"));
    rule_re.push_back(std::move(re));
    if (rule.precision == WeightPrecision::kInt4 && !int4_allowed) {
      return InvalidArgumentError("rule '" + rule.tensors +
                                  "': int4 needs a weight-only recipe (dynamic_int8's hybrid "
                                  "kernels read int8 weights)");
    }
  }
  std::vector<bool> rule_used(rules.size(), false);
  for (const WeightUse& use : WeightUses(model)) {
    const uint32_t buffer = use.weight->buffer;
    // The op regexes keep the op in float, as in the static recipes: its weights
    // stay float32.
    const std::string& out_name = use.op->outputs.empty() || use.op->outputs[0] < 0
                                      ? std::string()
                                      : use.subgraph->tensors[use.op->outputs[0]].name;
    if ((ops_re && NameMatches(*ops_re, graph::OpCodeName(use.op->code))) ||
        (tensors_re && NameMatches(*tensors_re, out_name))) {
      options->float_buffers.insert(buffer);
    }
    for (size_t i = 0; i < rules.size(); ++i) {
      if (!NameMatches(rule_re[i], use.weight->name)) continue;
      rule_used[i] = true;
      const WeightRule& rule = rules[i];
      if (rule.precision == WeightPrecision::kFloat) {
        options->float_buffers.insert(buffer);
      } else {
        WeightOnlyOptions::Override o;
        o.bits = rule.precision == WeightPrecision::kInt4 ? 4 : 8;
        o.granularity = rule.granularity;
        o.block_size = rule.block_size.value_or(o.bits == 4 ? options->block_size : 0);
        options->overrides.emplace(buffer, o);  // the first rule (and use) decides
      }
      break;
    }
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!rule_used[i]) {
      return InvalidArgumentError("rule " + std::to_string(i) + " ('" + rules[i].tensors +
                                  "') matches no weight tensor");
    }
  }
  return Status::Ok();
}

}  // namespace liteq::quant
