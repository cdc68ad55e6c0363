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
#include "quant/quantizer.h"

namespace liteq::quant {

enum class Recipe { kWeightOnlyInt8 };

struct RecipeOptions {
  Recipe recipe = Recipe::kWeightOnlyInt8;
  Granularity granularity = Granularity::kPerChannel;
  // The embedding table's; unset = the same as `granularity`.
  std::optional<Granularity> embedding_granularity;
};

// Names accepted by ParseRecipe, in the order `liteq quantize --help` lists them.
std::vector<std::string> SupportedRecipes();
// "weight_only_int8" -> Recipe; an unknown name is an InvalidArgument error that lists
// the supported recipes.
Result<Recipe> ParseRecipe(const std::string& name);
const char* RecipeName(Recipe recipe);
// "channel" | "tensor".
Result<Granularity> ParseGranularity(const std::string& name);
const char* GranularityName(Granularity granularity);

// Rewrites `model` in place and records the recipe in its metadata.
Result<QuantizeReport> ApplyRecipe(graph::Model& model, const RecipeOptions& options);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_RECIPE_H_
