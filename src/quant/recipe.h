// Quantization recipes that `liteq quantize` applies to a built graph::Model.
// Each recipe is a graph rewrite; its name and settings are recorded in the model's
// metadata (`liteq.quantization`) so a .tflite file says how it was made.
#ifndef LITEQ_QUANT_RECIPE_H_
#define LITEQ_QUANT_RECIPE_H_

#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"
#include "quant/float16_weights.h"
#include "quant/observers.h"
#include "quant/quantizer.h"
#include "quant/static_quantizer.h"
#include "quant/weight_rules.h"

namespace liteq::quant {

enum class Recipe {
  kWeightOnlyInt8,
  kWeightOnlyInt4,
  kDynamicInt8,
  kStaticInt8,
  kStaticInt8Strict,
  kStatic16x8,
};

struct RecipeOptions {
  Recipe recipe = Recipe::kWeightOnlyInt8;
  Granularity granularity = Granularity::kPerChannel;
  // The embedding table's; unset = the same as `granularity`.
  std::optional<Granularity> embedding_granularity;
  int64_t block_size = 0;  // weight_only_int4
  // Static recipes.
  const ActivationRanges* ranges = nullptr;  // from calibration
  std::string observer;  // recorded in the metadata; empty = DefaultObserver(recipe)
  bool kv_cache_int = false;
  bool int8_norm_statistics = false;  // static: RMSNorm statistics in integers too
  std::string float_ops, float_tensors;
  std::string calibration;  // description recorded in the metadata
  // Constant tensors (exact names) the recipe leaves in float32; in the static recipes
  // the ops reading them stay float. `liteq quantize --ple-dtype float32|fp16` names
  // Gemma 3n's per-layer embedding table here. A name no tensor has is an error.
  std::vector<std::string> float_weights;
  // Constant tensors kept out of the recipe as above, then stored as float16 followed
  // by DEQUANTIZE (quant/float16_weights.h): `--ple-dtype fp16`.
  std::vector<std::string> float16_weights;
  // Weight-only and dynamic recipes: also store the float32 tables gathered by
  // position (RoPE cos/sin, quant/float16_weights.h PositionTableNames) as float16.
  // `liteq quantize --rope-dtype fp16|float32`. Static recipes quantize them anyway.
  bool position_tables_fp16 = true;
  // Weight-only and dynamic recipes: per-weight precision by tensor-name regex (a
  // recipe file's rules, quant/weight_rules.h). Static recipes take "float" rules only.
  std::vector<WeightRule> weight_rules;
  // Static recipes: the recipe file's per-tensor observers, recorded in the metadata
  // (the ranges they chose arrive in `ranges`).
  std::vector<ObserverRule> observer_rules;
};

struct RecipeReport {
  QuantizeReport weights;    // weight-only / dynamic
  StaticReport activations;  // static recipes
  Float16Report float16;     // float16_weights
};

// Names accepted by ParseRecipe, in the order `liteq quantize --help` lists them.
std::vector<std::string> SupportedRecipes();
// "weight_only_int8" -> Recipe; an unknown name is an InvalidArgument error that lists
// the supported recipes.
Result<Recipe> ParseRecipe(const std::string& name);
const char* RecipeName(Recipe recipe);
// Static recipes need calibrated activation ranges.
bool NeedsCalibration(Recipe recipe);
// The activation range observer a static recipe uses unless told otherwise (names as
// ParseObserverKind). int8: "moving_average", the best on both bundled models (dPPL
// +0.28% vs minmax's +0.64% on gemma3-tiny, +0.06% vs +0.57% on llama-tiny: a mean of
// per-sequence extremes ignores one-off spikes that would widen every step). int16:
// "minmax" (65536 levels leave no rounding error worth clipping for; moving_average
// measured KL 1.9e-3 vs 2.1e-4 on gemma3-tiny).
const char* DefaultObserver(Recipe recipe);
// `name`, or the recipe's default observer when `name` is empty.
std::string ObserverOrDefault(Recipe recipe, const std::string& name);
// "channel" | "tensor".
Result<Granularity> ParseGranularity(const std::string& name);
const char* GranularityName(Granularity granularity);

// Rewrites `model` in place and records the recipe in its metadata.
Result<RecipeReport> ApplyRecipe(graph::Model& model, const RecipeOptions& options);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_RECIPE_H_
