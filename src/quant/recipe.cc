#include "quant/recipe.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace liteq::quant {
namespace {

constexpr std::array<std::pair<Recipe, const char*>, 6> kRecipes = {{
    {Recipe::kWeightOnlyInt8, "weight_only_int8"},
    {Recipe::kWeightOnlyInt4, "weight_only_int4"},
    {Recipe::kDynamicInt8, "dynamic_int8"},
    {Recipe::kStaticInt8, "static_int8"},
    {Recipe::kStaticInt8Strict, "static_int8_strict"},
    {Recipe::kStatic16x8, "static_16x8"},
}};

// The buffers of the float32 constant tensors called `names` (each must exist).
Result<std::set<uint32_t>> BuffersNamed(const graph::Model& model,
                                        const std::vector<std::string>& names) {
  std::set<uint32_t> out;
  for (const std::string& name : names) {
    bool found = false;
    for (const graph::Subgraph& sg : model.subgraphs) {
      for (const graph::Tensor& t : sg.tensors) {
        if (t.name == name && t.buffer != 0 && t.dtype == graph::DType::kFloat32) {
          out.insert(t.buffer);
          found = true;
        }
      }
    }
    if (!found) {
      return InvalidArgumentError("the model has no float32 constant '" + name +
                                  "' to keep in float");
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> SupportedRecipes() {
  std::vector<std::string> out;
  for (const auto& [recipe, name] : kRecipes) out.push_back(name);
  return out;
}

const char* RecipeName(Recipe recipe) {
  for (const auto& [r, name] : kRecipes) {
    if (r == recipe) return name;
  }
  return "unknown";
}

Result<Recipe> ParseRecipe(const std::string& name) {
  for (const auto& [recipe, n] : kRecipes) {
    if (name == n) return recipe;
  }
  std::string list;
  for (const std::string& r : SupportedRecipes()) list += (list.empty() ? "" : ", ") + r;
  return InvalidArgumentError("unknown quantization recipe '" + name + "' (supported: " + list +
                              ")");
}

bool NeedsCalibration(Recipe recipe) {
  return recipe == Recipe::kStaticInt8 || recipe == Recipe::kStaticInt8Strict ||
         recipe == Recipe::kStatic16x8;
}

const char* DefaultObserver(Recipe recipe) {
  return recipe == Recipe::kStatic16x8 ? "minmax" : "moving_average";
}

std::string ObserverOrDefault(Recipe recipe, const std::string& name) {
  return name.empty() ? DefaultObserver(recipe) : name;
}

const char* GranularityName(Granularity granularity) {
  return granularity == Granularity::kPerChannel ? "channel" : "tensor";
}

Result<Granularity> ParseGranularity(const std::string& name) {
  if (name == "channel") return Granularity::kPerChannel;
  if (name == "tensor") return Granularity::kPerTensor;
  return InvalidArgumentError("unknown granularity '" + name + "' (supported: channel, tensor)");
}

Result<RecipeReport> ApplyRecipe(graph::Model& model, const RecipeOptions& options) {
  if (model.metadata.count("liteq.quantization") != 0) {
    return FailedPreconditionError("the model is already quantized");
  }
  const Granularity embedding = options.embedding_granularity.value_or(options.granularity);
  std::vector<std::string> kept_float = options.float_weights;
  kept_float.insert(kept_float.end(), options.float16_weights.begin(),
                    options.float16_weights.end());
  LITEQ_ASSIGN_OR_RETURN(std::set<uint32_t> float_buffers, BuffersNamed(model, kept_float));
  WeightOnlyOptions weights{.granularity = options.granularity,
                            .embedding_granularity = embedding,
                            .bits = options.recipe == Recipe::kWeightOnlyInt4 ? 4 : 8,
                            .block_size = options.block_size,
                            .float_buffers = float_buffers};
  if (NeedsCalibration(options.recipe)) {
    // Static recipes: a "float" rule keeps the ops reading those weights float
    // (StaticOptions::float_buffers); their op regexes are handled by the quantizer.
    for (const WeightRule& rule : options.weight_rules) {
      if (rule.precision != WeightPrecision::kFloat || rule.granularity || rule.block_size) {
        return InvalidArgumentError("rule '" + rule.tensors + "': " + RecipeName(options.recipe) +
                                    " takes only \"precision\": \"float\" rules");
      }
    }
    WeightOnlyOptions floats;
    LITEQ_RETURN_IF_ERROR(ResolveWeightRules(model, "", "", options.weight_rules, false, &floats));
    float_buffers.insert(floats.float_buffers.begin(), floats.float_buffers.end());
  } else {
    LITEQ_RETURN_IF_ERROR(ResolveWeightRules(model, options.float_ops, options.float_tensors,
                                             options.weight_rules,
                                             options.recipe != Recipe::kDynamicInt8, &weights));
  }
  if (!options.observer_rules.empty() && !NeedsCalibration(options.recipe)) {
    return InvalidArgumentError(
        "observer rules (\"observer\" in a recipe file rule) apply to "
        "the static recipes, not " +
        std::string(RecipeName(options.recipe)));
  }
  if (options.recipe != Recipe::kWeightOnlyInt4 && options.block_size != 0) {
    return InvalidArgumentError("--block-size applies to weight_only_int4 only");
  }
  if (options.block_size != 0 && options.block_size != 32 && options.block_size != 64 &&
      options.block_size != 128) {
    return InvalidArgumentError("--block-size must be 0 (per channel), 32, 64 or 128");
  }
  RecipeReport report;
  nlohmann::json meta = {{"recipe", RecipeName(options.recipe)},
                         {"granularity", GranularityName(options.granularity)}};
  switch (options.recipe) {
    case Recipe::kWeightOnlyInt8:
    case Recipe::kWeightOnlyInt4: {
      LITEQ_ASSIGN_OR_RETURN(report.weights, QuantizeWeightOnly(model, weights));
      meta["weights"] = options.recipe == Recipe::kWeightOnlyInt4
                            ? "int4 symmetric [-7, 7] for linear layers (int8 embedding), "
                              "zero point 0, round half away from zero"
                            : "int8 symmetric [-127, 127], zero point 0, round half away from zero";
      if (options.recipe == Recipe::kWeightOnlyInt4) meta["block_size"] = options.block_size;
      if (report.weights.per_channel_fallback_buffers > 0) {
        meta["per_channel_fallback_buffers"] = report.weights.per_channel_fallback_buffers;
      }
      break;
    }
    case Recipe::kDynamicInt8: {
      LITEQ_ASSIGN_OR_RETURN(report.weights, QuantizeDynamicInt8(model, weights));
      meta["weights"] = "int8 symmetric [-127, 127], read by hybrid kernels";
      meta["activations"] = "float, quantized per row on the fly (asymmetric)";
      meta["hybrid_ops"] = report.weights.hybrid_ops;
      break;
    }
    case Recipe::kStaticInt8:
    case Recipe::kStaticInt8Strict:
    case Recipe::kStatic16x8: {
      if (options.ranges == nullptr) {
        return FailedPreconditionError(std::string(RecipeName(options.recipe)) +
                                       " needs calibration data (--calib)");
      }
      StaticOptions s;
      s.activations =
          options.recipe == Recipe::kStatic16x8 ? ActivationType::kInt16 : ActivationType::kInt8;
      s.weight_granularity = options.granularity;
      s.kv_cache_int = options.kv_cache_int;
      s.strict = options.recipe == Recipe::kStaticInt8Strict;
      s.float_norm_statistics = !s.strict && !options.int8_norm_statistics;
      s.float_ops = options.float_ops;
      s.float_tensors = options.float_tensors;
      s.float_buffers = float_buffers;
      LITEQ_ASSIGN_OR_RETURN(report.activations, QuantizeStatic(model, *options.ranges, s));
      const StaticReport& r = report.activations;
      meta["weights"] = "int8 symmetric [-127, 127], zero point 0";
      meta["activations"] =
          s.activations == ActivationType::kInt16 ? "int16 symmetric" : "int8 asymmetric";
      meta["observer"] = ObserverOrDefault(options.recipe, options.observer);
      if (!options.observer_rules.empty()) {
        nlohmann::json rules = nlohmann::json::array();
        for (const ObserverRule& r : options.observer_rules) {
          nlohmann::json j = {{"tensors", r.tensors}, {"observer", ObserverKindName(r.observer)}};
          if (r.observer == ObserverKind::kPercentile) j["percentile"] = r.percentile;
          rules.push_back(j);
        }
        meta["observer_rules"] = rules;
      }
      meta["norm_statistics"] = s.float_norm_statistics ? "float" : "integer";
      meta["calibration"] = options.calibration;
      meta["kv_cache"] = options.kv_cache_int
                             ? (s.activations == ActivationType::kInt16 ? "int16" : "int8")
                             : "float32";
      meta["integer_ops"] = r.integer_ops;
      meta["float_ops"] = r.float_ops;
      meta["quantize_ops"] = r.quantize_ops;
      meta["dequantize_ops"] = r.dequantize_ops;
      if (!options.float_ops.empty()) meta["float_ops_regex"] = options.float_ops;
      if (!options.float_tensors.empty()) meta["float_tensors_regex"] = options.float_tensors;
      break;
    }
  }
  if (options.recipe != Recipe::kDynamicInt8 && !NeedsCalibration(options.recipe)) {
    meta["embedding_granularity"] = GranularityName(embedding);
    meta["quantized_buffers"] = report.weights.quantized_buffers;
    meta["per_tensor_buffers"] = report.weights.per_tensor_buffers;
    meta["dequantize_ops"] = report.weights.dequantize_ops;
  } else if (options.recipe == Recipe::kDynamicInt8) {
    meta["embedding_granularity"] = GranularityName(embedding);
    meta["quantized_buffers"] = report.weights.quantized_buffers;
  }
  if (!options.float_weights.empty()) meta["float_weights"] = options.float_weights;
  if (!NeedsCalibration(options.recipe)) {
    if (!options.float_ops.empty()) meta["float_ops_regex"] = options.float_ops;
    if (!options.float_tensors.empty()) meta["float_tensors_regex"] = options.float_tensors;
    const size_t kept = weights.float_buffers.size() - float_buffers.size();
    if (kept > 0) meta["float_weight_buffers"] = kept;
  }
  if (!options.weight_rules.empty()) {
    nlohmann::json rules = nlohmann::json::array();
    for (const WeightRule& r : options.weight_rules) {
      nlohmann::json j = {{"tensors", r.tensors},
                          {"precision", r.precision == WeightPrecision::kFloat  ? "float"
                                        : r.precision == WeightPrecision::kInt4 ? "int4"
                                                                                : "int8"}};
      if (r.granularity) j["granularity"] = GranularityName(*r.granularity);
      if (r.block_size) j["block_size"] = *r.block_size;
      rules.push_back(j);
    }
    meta["rules"] = rules;
  }
  std::vector<std::string> float16 = options.float16_weights;
  if (options.position_tables_fp16 && !NeedsCalibration(options.recipe)) {
    for (std::string& name : PositionTableNames(model)) {
      if (std::find(float16.begin(), float16.end(), name) == float16.end()) {
        float16.push_back(std::move(name));
      }
    }
  }
  if (!float16.empty()) {
    LITEQ_ASSIGN_OR_RETURN(report.float16, StoreAsFloat16(model, float16));
    meta["float16_weights"] = float16;
    // The file's DEQUANTIZE count: the recipe's and the float16 tables'.
    meta["dequantize_ops"] = meta.value("dequantize_ops", 0) + report.float16.dequantize_ops;
  }
  model.metadata["liteq.quantization"] = meta.dump();
  return report;
}

}  // namespace liteq::quant
