#include "quant/recipe.h"

#include <nlohmann/json.hpp>

namespace liteq::quant {

std::vector<std::string> SupportedRecipes() { return {"weight_only_int8"}; }

const char* RecipeName(Recipe recipe) {
  switch (recipe) {
    case Recipe::kWeightOnlyInt8:
      return "weight_only_int8";
  }
  return "unknown";
}

Result<Recipe> ParseRecipe(const std::string& name) {
  if (name == "weight_only_int8") return Recipe::kWeightOnlyInt8;
  std::string list;
  for (const std::string& r : SupportedRecipes()) list += (list.empty() ? "" : ", ") + r;
  return InvalidArgumentError("unknown quantization recipe '" + name + "' (supported: " + list +
                              ")");
}

const char* GranularityName(Granularity granularity) {
  return granularity == Granularity::kPerChannel ? "channel" : "tensor";
}

Result<Granularity> ParseGranularity(const std::string& name) {
  if (name == "channel") return Granularity::kPerChannel;
  if (name == "tensor") return Granularity::kPerTensor;
  return InvalidArgumentError("unknown granularity '" + name + "' (supported: channel, tensor)");
}

Result<QuantizeReport> ApplyRecipe(graph::Model& model, const RecipeOptions& options) {
  if (model.metadata.count("liteq.quantization") != 0) {
    return FailedPreconditionError("the model is already quantized");
  }
  QuantizeReport report;
  switch (options.recipe) {
    case Recipe::kWeightOnlyInt8: {
      const WeightOnlyOptions weight_only{
          .granularity = options.granularity,
          .embedding_granularity = options.embedding_granularity.value_or(options.granularity)};
      LITEQ_ASSIGN_OR_RETURN(report, QuantizeWeightOnlyInt8(model, weight_only));
      break;
    }
  }
  const nlohmann::json meta = {
      {"recipe", RecipeName(options.recipe)},
      {"granularity", GranularityName(options.granularity)},
      {"weights", "int8 symmetric [-127, 127], zero point 0, round half away from zero"},
      {"embedding_granularity",
       GranularityName(options.embedding_granularity.value_or(options.granularity))},
      {"quantized_buffers", report.quantized_buffers},
      {"per_tensor_buffers", report.per_tensor_buffers},
      {"dequantize_ops", report.dequantize_ops}};
  model.metadata["liteq.quantization"] = meta.dump();
  return report;
}

}  // namespace liteq::quant
