// `liteq sensitivity [MODEL] --recipe static_int8 [--calib ...] [--data ...]`: for each
// op group, quantize everything but that group and measure the mean KL against the
// float model on fixed windows; rank groups by KL reduction per extra float byte
// (eval/sensitivity.h). Calibrates once; every variant runs in memory.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli_util.h"
#include "commands.h"
#include "eval/sensitivity.h"
#include "quant/calibration.h"
#include "quant/outliers.h"
#include "tokenizer/corpus.h"

namespace liteq::cli {
namespace {

struct SensitivityArgs {
  std::string model;
  std::string recipe = "static_int8";
  std::string calib;
  int calib_samples = 32;
  int calib_decode = 16;
  std::string observer;  // empty: the recipe's default (quant::DefaultObserver)
  std::string data;
  int windows = 8;
  int seq = 128;
  int max_seq = 512;
  std::string group_by = "type";
  std::string inject_outliers;  // LAYERS[:FACTOR], as for quantize
  std::string tokenizer;
  int threads = 1;
  bool json = false;
};

Status RunSensitivityCommand(const SensitivityArgs& args) {
  quant::RecipeOptions recipe;
  LITEQ_ASSIGN_OR_RETURN(recipe.recipe, quant::ParseRecipe(args.recipe));
  if (!quant::NeedsCalibration(recipe.recipe)) {
    return InvalidArgumentError("--recipe must be a static recipe (static_int8, static_16x8)");
  }
  if (args.group_by != "type" && args.group_by != "layer") {
    return InvalidArgumentError("--group-by must be type or layer");
  }
  model::ExportOptions options;
  LITEQ_ASSIGN_OR_RETURN(graph::Model model,
                         BuildFloatGraph(args.model, {}, args.max_seq, &options));
  if (!args.inject_outliers.empty()) {
    LITEQ_ASSIGN_OR_RETURN(quant::OutlierOptions outliers,
                           quant::ParseOutlierSpec(args.inject_outliers));
    LITEQ_RETURN_IF_ERROR(quant::InjectActivationOutliers(model, outliers).status());
  }
  LITEQ_ASSIGN_OR_RETURN(auto tok, LoadTokenizerForModel(model, args.tokenizer));
  const bool tty = isatty(fileno(stderr)) != 0;
  // Calibrate once: every variant gets the same ranges.
  const std::string calib = args.calib.empty() ? DefaultCalibData() : args.calib;
  int prefill = 0;
  for (int p : options.prefill_lengths) prefill = std::max(prefill, p);
  LITEQ_ASSIGN_OR_RETURN(
      auto samples, quant::LoadCalibrationSamples(calib, tok.get(), args.calib_samples, prefill,
                                                  args.calib_decode, CalibrationSkipIds(model)));
  quant::CalibrationOptions calibration;
  calibration.decode_tokens = args.calib_decode;
  calibration.num_threads = args.threads;
  auto float_model = std::make_shared<const graph::Model>(model);
  LITEQ_ASSIGN_OR_RETURN(quant::CalibrationResult stats,
                         quant::Calibrate(float_model, samples, calibration));
  LITEQ_ASSIGN_OR_RETURN(
      quant::ObserverKind observer_kind,
      quant::ParseObserverKind(quant::ObserverOrDefault(recipe.recipe, args.observer)));
  quant::ObserverOptions observer;
  observer.bits = recipe.recipe == quant::Recipe::kStatic16x8 ? 16 : 8;
  LITEQ_ASSIGN_OR_RETURN(quant::ActivationRanges ranges,
                         quant::ComputeActivationRanges(stats, observer_kind, observer));
  recipe.ranges = &ranges;
  const std::string data = args.data.empty() ? DefaultEvalData() : args.data;
  LITEQ_ASSIGN_OR_RETURN(auto windows,
                         tokenizer::LoadCorpusWindows(*tok, data, args.seq, args.windows));
  LITEQ_ASSIGN_OR_RETURN(auto evaluator,
                         eval::KlEvaluator::Create(float_model, std::move(windows), args.threads));
  const auto groups =
      eval::DefineOpGroups(model, args.group_by == "layer" ? eval::GroupGranularity::kLayer
                                                           : eval::GroupGranularity::kType);
  auto progress = [tty](const std::string& what, int done, int total) {
    if (tty) std::fprintf(stderr, "\r  %d/%d %-40s", done, total, what.c_str());
  };
  LITEQ_ASSIGN_OR_RETURN(eval::SensitivityReport report,
                         eval::RunSensitivity(model, groups, recipe, *evaluator, progress));
  if (tty) std::fprintf(stderr, "\n");
  if (args.json) {
    nlohmann::json j = eval::SensitivityReportToJson(report);
    j["model"] = args.model;
    j["recipe"] = args.recipe;
    j["calibration_samples"] = stats.samples;
    j["data"] = data;
    j["seq"] = args.seq;
    j["group_by"] = args.group_by;
    if (!args.inject_outliers.empty()) j["inject_outliers"] = args.inject_outliers;
    std::printf("%s\n", j.dump(2).c_str());
    return Status::Ok();
  }
  std::printf("model      %s (%s, calibrated once on %d samples of %s)\n", args.model.c_str(),
              args.recipe.c_str(), stats.samples, std::filesystem::path(calib).filename().c_str());
  std::printf("data       %s (%zu windows x %d tokens, %lld tokens scored)\n", data.c_str(),
              report.windows, args.seq, static_cast<long long>(report.tokens));
  std::printf(
      "all quantized: mean KL %.6f, PPL %+.3f%%; one group kept float at a time (%.1f s):\n",
      report.baseline_kl, report.baseline_ppl_delta_percent, report.seconds);
  std::printf("%4s %-24s %8s %12s %12s %9s %14s %16s\n", "rank", "group", "tensors", "mean KL",
              "KL change", "PPL", "extra float MB", "KL drop per MB");
  for (size_t i = 0; i < report.groups.size(); ++i) {
    const eval::GroupSensitivity& g = report.groups[i];
    std::printf("%4zu %-24s %8zu %12.6f %+12.6f %+8.3f%% %14.3f %16.6f\n", i + 1,
                g.group.name.c_str(), g.group.tensors.size(), g.mean_kl, -g.kl_reduction,
                g.ppl_delta_percent, g.extra_float_bytes / 1e6, g.reduction_per_mb);
  }
  return Status::Ok();
}

void SetupSensitivity(CLI::App& app, Status* result) {
  auto args = std::make_shared<SensitivityArgs>();
  args->model = DefaultModelDir();
  auto* cmd = app.add_subcommand(
      "sensitivity", "Rank op groups by how much keeping them float reduces the KL divergence");
  cmd->add_option("model", args->model,
                  "Hugging Face model dir or llama2.c .bin (default: bundled gemma3-tiny)");
  cmd->add_option("--recipe", args->recipe, "Static recipe: static_int8 (default) or static_16x8");
  cmd->add_option("--calib", args->calib,
                  "Calibration JSONL (default: bundled data/brown/calib.jsonl)");
  cmd->add_option("--calib-samples", args->calib_samples, "Calibration samples (default 32)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--calib-decode", args->calib_decode,
                  "Tokens decoded per calibration sample (16)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--observer", args->observer,
                  "Activation range observer (as quantize: default moving_average; minmax for "
                  "static_16x8)");
  cmd->add_option("--data", args->data,
                  "Evaluation JSONL (default: bundled data/brown/eval.jsonl)");
  cmd->add_option("--windows", args->windows, "Evaluation windows (default 8)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--seq", args->seq, "Window length in tokens (default 128)")
      ->check(CLI::Range(2, 1 << 20));
  cmd->add_option("--max-seq", args->max_seq, "KV cache length of the variants (default 512)")
      ->check(CLI::Range(2, 1 << 20));
  cmd->add_option("--group-by", args->group_by,
                  "Op groups by type across layers (default) or per layer: type|layer");
  cmd->add_option("--inject-outliers", args->inject_outliers,
                  "Test models: inject activation outliers first, as `quantize "
                  "--inject-outliers` does (\"all\" or e.g. \"1,3\"[:FACTOR])");
  cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer (default: the model's)");
  cmd->add_option("--threads", args->threads, "Worker threads")->check(CLI::Range(1, 256));
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunSensitivityCommand(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("sensitivity", SetupSensitivity);
}  // namespace liteq::cli
