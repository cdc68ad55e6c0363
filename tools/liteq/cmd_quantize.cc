// `liteq quantize [MODEL] --recipe weight_only_int8 -o out.tflite`: builds the float
// graph of a checkpoint, applies a quantization recipe and writes the LiteRT file
// (streamed and renamed into place when complete, as `liteq export`).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "model/model.h"
#include "quant/recipe.h"
#include "tflite/writer.h"

namespace liteq::cli {
namespace {

struct QuantizeArgs {
  std::string model;
  std::string output;
  std::string recipe;
  std::string granularity = "channel";
  std::string embedding_granularity;  // empty: as --granularity
  std::vector<int> prefill_lengths;
  int max_seq = 1024;
  bool json = false;
};

Status RunQuantize(const QuantizeArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  quant::RecipeOptions recipe;
  LITEQ_ASSIGN_OR_RETURN(recipe.recipe, quant::ParseRecipe(args.recipe));
  LITEQ_ASSIGN_OR_RETURN(recipe.granularity, quant::ParseGranularity(args.granularity));
  if (!args.embedding_granularity.empty()) {
    LITEQ_ASSIGN_OR_RETURN(recipe.embedding_granularity,
                           quant::ParseGranularity(args.embedding_granularity));
  }
  const quant::Granularity embedding = recipe.embedding_granularity.value_or(recipe.granularity);
  model::ExportOptions options;
  LITEQ_ASSIGN_OR_RETURN(graph::Model model,
                         BuildFloatGraph(args.model, args.prefill_lengths, args.max_seq, &options));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantizeReport report, quant::ApplyRecipe(model, recipe));
  LITEQ_RETURN_IF_ERROR(tflite::WriteTflite(model, args.output));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto bytes = std::filesystem::file_size(args.output);
  if (args.json) {
    nlohmann::json out = {{"model", args.model},
                          {"output", args.output},
                          {"recipe", quant::RecipeName(recipe.recipe)},
                          {"granularity", quant::GranularityName(recipe.granularity)},
                          {"embedding_granularity", quant::GranularityName(embedding)},
                          {"bytes", bytes},
                          {"seconds", seconds},
                          {"max_seq", options.max_seq},
                          {"prefill_lengths", options.prefill_lengths},
                          {"quantized_buffers", report.quantized_buffers},
                          {"per_tensor_buffers", report.per_tensor_buffers},
                          {"dequantize_ops", report.dequantize_ops},
                          {"float_weight_bytes", report.float_bytes},
                          {"int8_weight_bytes", report.int8_bytes}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("quantized %s -> %s\n", args.model.c_str(), args.output.c_str());
    std::printf("  recipe %s, granularity %s (embedding per %s)\n",
                quant::RecipeName(recipe.recipe), quant::GranularityName(recipe.granularity),
                quant::GranularityName(embedding));
    std::printf("  %d weight buffers: %.1f MB float32 -> %.1f MB int8, %d DEQUANTIZE ops\n",
                report.quantized_buffers, report.float_bytes / 1e6, report.int8_bytes / 1e6,
                report.dequantize_ops);
    std::printf("  signatures:");
    for (const auto& s : model.signatures) std::printf(" %s", s.key.c_str());
    std::printf("\n  max_seq %d, %.1f MB, %.2f s\n", options.max_seq, bytes / 1e6, seconds);
  }
  return Status::Ok();
}

void SetupQuantize(CLI::App& app, Status* result) {
  auto args = std::make_shared<QuantizeArgs>();
  args->model = DefaultModelDir();
  std::string recipes;
  for (const auto& r : quant::SupportedRecipes()) recipes += (recipes.empty() ? "" : ", ") + r;
  auto* cmd = app.add_subcommand("quantize", "Export a checkpoint as a quantized LiteRT model");
  cmd->add_option("model", args->model,
                  "Hugging Face model dir or llama2.c .bin (default: bundled gemma3-tiny)");
  cmd->add_option("--recipe", args->recipe, "Quantization recipe (" + recipes + ")")->required();
  cmd->add_option(
      "--granularity", args->granularity,
      "Weight scales per output channel or per tensor: channel|tensor (default channel)");
  cmd->add_option("--embedding-granularity", args->embedding_granularity,
                  "Embedding table scales per token row or per tensor: channel|tensor "
                  "(default: as --granularity)");
  cmd->add_option("-o,--output", args->output, "Output .tflite path")->required();
  cmd->add_option("--prefill-len", args->prefill_lengths,
                  "Prefill signature length(s); repeat for several (default 128)");
  cmd->add_option("--max-seq", args->max_seq, "KV cache length (default 1024)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunQuantize(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("quantize", SetupQuantize);
}  // namespace liteq::cli
