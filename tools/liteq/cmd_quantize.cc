// `liteq quantize [MODEL] --recipe R -o out.tflite`: builds the float graph of a
// checkpoint, calibrates it on real text when the recipe quantizes activations,
// applies the recipe and writes the LiteRT file (streamed and renamed into place when
// complete, as `liteq export`).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_util.h"
#include "commands.h"
#include "eval/sensitivity.h"
#include "model/model.h"
#include "quant/calibration.h"
#include "quant/outliers.h"
#include "quant/recipe.h"
#include "quant/smoothquant.h"
#include "tflite/writer.h"
#include "tokenizer/corpus.h"

namespace liteq::cli {
namespace {

struct QuantizeArgs {
  std::string model;
  std::string output;
  std::string recipe;
  std::string recipe_file;
  std::vector<quant::WeightRule> weight_rules;
  std::vector<quant::ObserverRule> observer_rules;  // recipe file  // from the recipe file
  std::string granularity = "channel";
  std::string embedding_granularity;  // empty: as --granularity
  int block_size = 0;
  std::vector<int> prefill_lengths;
  int max_seq = 1024;
  std::string calib;
  int calib_samples = 128;
  int calib_decode = 16;
  std::string observer;  // empty: the recipe's default (quant::DefaultObserver)
  double percentile = 99.99;
  std::string kv_dtype = "float32";
  std::string float_ops, float_tensors;
  bool int8_norm_statistics = false;
  std::string inject_outliers;  // LAYERS[:FACTOR]
  double smoothquant = -1;      // alpha; < 0 = off
  std::string tokenizer;
  std::string matformer;
  std::string ple_dtype;
  std::string rope_dtype = "fp16";
  int threads = 1;
  bool json = false;
  // Automatic mixed precision (eval/sensitivity.h).
  double target_kl = -1.0;                 // < 0: off
  std::optional<double> target_ppl_delta;  // percent
  std::string kl_data;
  int kl_windows = 8;
  int kl_seq = 128;
  std::string group_by = "type";
};

// "calibrating 12/128" on one line on a terminal, one line per quarter otherwise.
void Progress(const char* what, int done, int total) {
  static const bool tty = isatty(fileno(stderr)) != 0;
  if (tty) {
    std::fprintf(stderr, "\r%s %d/%d", what, done, total);
    if (done == total) std::fprintf(stderr, "\n");
  } else if (done == total || (total >= 4 && done % (total / 4) == 0)) {
    std::fprintf(stderr, "%s %d/%d\n", what, done, total);
  }
}

bool HasPerLayerEmbedding(const graph::Model& model) {
  for (const graph::Subgraph& sg : model.subgraphs) {
    for (const graph::Tensor& t : sg.tensors) {
      if (t.name == model::kPerLayerEmbeddingTensor && t.buffer != 0) return true;
    }
  }
  return false;
}

struct Calibrated {
  quant::ActivationRanges ranges;
  quant::CalibrationResult stats;
  std::string description;
};

Result<std::vector<std::vector<int32_t>>> LoadSamples(const QuantizeArgs& args,
                                                      const graph::Model& model,
                                                      const model::ExportOptions& export_options) {
  const std::string path = args.calib.empty() ? DefaultCalibData() : args.calib;
  auto tok = LoadTokenizerForModel(model, args.tokenizer);
  const tokenizer::Tokenizer* tokenizer = tok.ok() ? tok->get() : nullptr;
  const int prefill = *std::max_element(export_options.prefill_lengths.begin(),
                                        export_options.prefill_lengths.end());
  return quant::LoadCalibrationSamples(path, tokenizer, args.calib_samples, prefill,
                                       args.calib_decode, CalibrationSkipIds(model));
}

Result<Calibrated> CalibrateModel(const QuantizeArgs& args, const graph::Model& model,
                                  const std::vector<std::vector<int32_t>>& samples) {
  LITEQ_ASSIGN_OR_RETURN(quant::ObserverKind observer, quant::ParseObserverKind(args.observer));
  const std::string path = args.calib.empty() ? DefaultCalibData() : args.calib;
  quant::CalibrationOptions options;
  options.decode_tokens = args.calib_decode;
  options.num_threads = args.threads;
  if (!args.json) options.progress = [](int d, int t) { Progress("calibrating", d, t); };
  Calibrated out;
  LITEQ_ASSIGN_OR_RETURN(
      out.stats, quant::Calibrate(std::make_shared<const graph::Model>(model), samples, options));
  quant::ObserverOptions observer_options;
  observer_options.percentile = args.percentile;
  observer_options.bits = args.recipe == "static_16x8" ? 16 : 8;
  LITEQ_ASSIGN_OR_RETURN(
      out.ranges,
      quant::ComputeActivationRanges(out.stats, observer, observer_options, args.observer_rules));
  out.description = std::filesystem::path(path).filename().string() + ": " +
                    std::to_string(out.stats.samples) + " samples, " +
                    std::to_string(out.stats.prefill_tokens) + " prefill + " +
                    std::to_string(out.stats.decode_tokens) + " decode tokens";
  return out;
}

// --inject-outliers and --smoothquant: float-graph rewrites before calibration.
Status PrepareFloatGraph(const QuantizeArgs& args, graph::Model& model,
                         const std::vector<std::vector<int32_t>>& samples) {
  if (!args.inject_outliers.empty()) {
    LITEQ_ASSIGN_OR_RETURN(quant::OutlierOptions outliers,
                           quant::ParseOutlierSpec(args.inject_outliers));
    LITEQ_ASSIGN_OR_RETURN(quant::OutlierReport injected,
                           quant::InjectActivationOutliers(model, outliers));
    if (!args.json) {
      std::printf("  injected outliers (x%g on %zu channels) into %zu norm outputs\n",
                  injected.factor, injected.channels.size(), injected.sites.size());
    }
  }
  if (args.smoothquant >= 0) {
    quant::SmoothQuantOptions sq;
    sq.alpha = static_cast<float>(args.smoothquant);
    sq.calibration.decode_tokens = args.calib_decode;
    sq.calibration.num_threads = args.threads;
    if (!args.json) sq.calibration.progress = [](int d, int t) { Progress("smoothquant", d, t); };
    LITEQ_ASSIGN_OR_RETURN(quant::SmoothQuantReport report,
                           quant::ApplySmoothQuant(model, samples, sq));
    if (!args.json) {
      std::printf(
          "  smoothquant alpha %g: %d norms, %zu MLP down_proj inputs, scales in "
          "[%.3g, %.3g], %.1f s\n",
          args.smoothquant, report.sites, report.mlp_hiddens.size(), report.min_scale,
          report.max_scale, report.seconds);
    }
  }
  return Status::Ok();
}

// --target-kl: a sensitivity sweep with the calibrated ranges, then the fewest float
// groups that meet the target (eval/sensitivity.h).
Result<eval::MixedPrecisionPlan> PlanMixedPrecision(const QuantizeArgs& args,
                                                    const graph::Model& model,
                                                    const quant::RecipeOptions& recipe) {
  if (!quant::NeedsCalibration(recipe.recipe)) {
    return InvalidArgumentError(
        "--target-kl / --target-ppl-delta need a static recipe (static_int8, static_16x8)");
  }
  if (args.group_by != "type" && args.group_by != "layer") {
    return InvalidArgumentError("--group-by must be type or layer");
  }
  LITEQ_ASSIGN_OR_RETURN(auto tok, LoadTokenizerForModel(model, args.tokenizer));
  const std::string data = args.kl_data.empty() ? DefaultEvalData() : args.kl_data;
  LITEQ_ASSIGN_OR_RETURN(auto windows,
                         tokenizer::LoadCorpusWindows(*tok, data, args.kl_seq, args.kl_windows));
  LITEQ_ASSIGN_OR_RETURN(auto evaluator,
                         eval::KlEvaluator::Create(std::make_shared<const graph::Model>(model),
                                                   std::move(windows), args.threads));
  const auto groups =
      eval::DefineOpGroups(model, args.group_by == "layer" ? eval::GroupGranularity::kLayer
                                                           : eval::GroupGranularity::kType);
  eval::SweepProgress progress;
  if (!args.json) {
    progress = [](const std::string& what, int done, int total) {
      if (total > 0) Progress(("sensitivity (" + what + ")").c_str(), done, total);
    };
  }
  LITEQ_ASSIGN_OR_RETURN(eval::SensitivityReport sweep,
                         eval::RunSensitivity(model, groups, recipe, *evaluator, progress));
  eval::PlanTarget target;
  if (args.target_ppl_delta) {
    target = {eval::PlanTarget::Metric::kPplDeltaPercent, *args.target_ppl_delta};
  } else {
    target = {eval::PlanTarget::Metric::kMeanKl, args.target_kl};
  }
  return eval::PlanForTarget(model, sweep, recipe, *evaluator, target);
}

// Fills what the command line left unset from --recipe-file (quant/weight_rules.h).
Status ApplyRecipeFile(const CLI::App& cmd, QuantizeArgs& args) {
  if (!args.recipe_file.empty()) {
    LITEQ_ASSIGN_OR_RETURN(quant::RecipeFile file, quant::ReadRecipeFile(args.recipe_file));
    if (cmd.count("--recipe") == 0 && file.recipe) args.recipe = *file.recipe;
    if (cmd.count("--granularity") == 0 && file.granularity) args.granularity = *file.granularity;
    if (cmd.count("--observer") == 0 && file.observer) args.observer = *file.observer;
    if (cmd.count("--block-size") == 0 && file.block_size) {
      args.block_size = static_cast<int>(*file.block_size);
    }
    args.weight_rules = std::move(file.rules);
    args.observer_rules = std::move(file.observer_rules);
  }
  if (args.recipe.empty()) {
    return InvalidArgumentError("give --recipe (or a --recipe-file with \"recipe\")");
  }
  LITEQ_ASSIGN_OR_RETURN(quant::Recipe recipe, quant::ParseRecipe(args.recipe));
  args.observer = quant::ObserverOrDefault(recipe, args.observer);
  return Status::Ok();
}

Status RunQuantize(const QuantizeArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  quant::RecipeOptions recipe;
  LITEQ_ASSIGN_OR_RETURN(recipe.recipe, quant::ParseRecipe(args.recipe));
  LITEQ_ASSIGN_OR_RETURN(recipe.granularity, quant::ParseGranularity(args.granularity));
  if (args.target_kl >= 0.0 && args.target_ppl_delta) {
    return InvalidArgumentError("give --target-kl or --target-ppl-delta, not both");
  }
  if (!args.embedding_granularity.empty()) {
    LITEQ_ASSIGN_OR_RETURN(recipe.embedding_granularity,
                           quant::ParseGranularity(args.embedding_granularity));
  }
  if (args.kv_dtype != "float32" && args.kv_dtype != "int8") {
    return InvalidArgumentError("--kv-dtype must be float32 or int8");
  }
  recipe.block_size = args.block_size;
  recipe.kv_cache_int = args.kv_dtype == "int8";
  recipe.float_ops = args.float_ops;
  recipe.int8_norm_statistics = args.int8_norm_statistics;
  recipe.float_tensors = args.float_tensors;
  recipe.weight_rules = args.weight_rules;
  recipe.observer_rules = args.observer_rules;
  recipe.observer = args.observer;
  if (!args.ple_dtype.empty() && args.ple_dtype != "int8" && args.ple_dtype != "float32" &&
      args.ple_dtype != "fp16") {
    return InvalidArgumentError("--ple-dtype must be float32, fp16 or int8");
  }
  if (args.ple_dtype == "float32") recipe.float_weights = {model::kPerLayerEmbeddingTensor};
  if (args.ple_dtype == "fp16") recipe.float16_weights = {model::kPerLayerEmbeddingTensor};
  if (args.rope_dtype != "fp16" && args.rope_dtype != "float32") {
    return InvalidArgumentError("--rope-dtype must be fp16 or float32");
  }
  recipe.position_tables_fp16 = args.rope_dtype == "fp16";
  if (args.observer == "percentile") recipe.observer += " " + std::to_string(args.percentile);
  const quant::Granularity embedding = recipe.embedding_granularity.value_or(recipe.granularity);
  model::ExportOptions options;
  LITEQ_ASSIGN_OR_RETURN(
      graph::Model model,
      BuildFloatGraph(args.model, args.prefill_lengths, args.max_seq, &options, args.matformer));
  if (args.smoothquant >= 0 && !quant::NeedsCalibration(recipe.recipe)) {
    return InvalidArgumentError(
        "--smoothquant applies to the static recipes (it helps "
        "activation quantization)");
  }
  std::vector<std::vector<int32_t>> samples;
  if (quant::NeedsCalibration(recipe.recipe)) {
    LITEQ_ASSIGN_OR_RETURN(samples, LoadSamples(args, model, options));
  }
  LITEQ_RETURN_IF_ERROR(PrepareFloatGraph(args, model, samples));
  Calibrated calibrated;
  if (quant::NeedsCalibration(recipe.recipe)) {
    LITEQ_ASSIGN_OR_RETURN(calibrated, CalibrateModel(args, model, samples));
    recipe.ranges = &calibrated.ranges;
    recipe.calibration = calibrated.description;
  }
  if (!args.ple_dtype.empty() && !HasPerLayerEmbedding(model)) {
    return InvalidArgumentError("--ple-dtype: " + args.model +
                                " has no per-layer embedding table (a Gemma 3n option)");
  }
  std::optional<eval::MixedPrecisionPlan> plan;
  if (args.target_kl >= 0.0 || args.target_ppl_delta) {
    LITEQ_ASSIGN_OR_RETURN(plan, PlanMixedPrecision(args, model, recipe));
    recipe.float_tensors = eval::CombineRegex(recipe.float_tensors, plan->float_tensors_regex);
  }
  auto applied = quant::ApplyRecipe(model, recipe);
  if (!applied.ok()) {
    return args.ple_dtype.empty() ? applied.status()
                                  : applied.status().WithContext("--ple-dtype " + args.ple_dtype);
  }
  const quant::RecipeReport& report = *applied;
  if (plan) LITEQ_RETURN_IF_ERROR(eval::RecordPlanInMetadata(model, *plan));
  if (!args.ple_dtype.empty()) {
    nlohmann::json meta = MetadataJson(model, "liteq.quantization");
    meta["ple_dtype"] = args.ple_dtype;
    model.metadata["liteq.quantization"] = meta.dump();
  }
  LITEQ_RETURN_IF_ERROR(tflite::WriteTflite(model, args.output));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto bytes = std::filesystem::file_size(args.output);
  const quant::QuantizeReport& w = report.weights;
  const quant::StaticReport& a = report.activations;
  if (args.json) {
    nlohmann::json out = {{"model", args.model},
                          {"output", args.output},
                          {"recipe", quant::RecipeName(recipe.recipe)},
                          {"granularity", quant::GranularityName(recipe.granularity)},
                          {"embedding_granularity", quant::GranularityName(embedding)},
                          {"bytes", bytes},
                          {"seconds", seconds},
                          {"max_seq", options.max_seq},
                          {"prefill_lengths", options.prefill_lengths}};
    if (!args.ple_dtype.empty()) out["ple_dtype"] = args.ple_dtype;
    if (report.float16.buffers > 0) out["float16_bytes"] = report.float16.float16_bytes;
    if (!args.inject_outliers.empty()) out["inject_outliers"] = args.inject_outliers;
    if (quant::NeedsCalibration(recipe.recipe)) {
      out["calibration"] = recipe.calibration;
      out["calibration_seconds"] = calibrated.stats.seconds;
      out["observer"] = recipe.observer;
      out["kv_dtype"] = args.kv_dtype;
      if (args.smoothquant >= 0) out["smoothquant_alpha"] = args.smoothquant;
      out["integer_ops"] = a.integer_ops;
      out["float_ops"] = a.float_ops;
      out["quantize_ops"] = a.quantize_ops;
      out["dequantize_ops"] = a.dequantize_ops;
      out["float_weight_bytes"] = a.float_weight_bytes;
      out["int_weight_bytes"] = a.int_weight_bytes;
      if (plan) out["mixed_precision"] = eval::MixedPrecisionPlanToJson(*plan);
    } else {
      out["quantized_buffers"] = w.quantized_buffers;
      out["per_tensor_buffers"] = w.per_tensor_buffers;
      out["dequantize_ops"] = w.dequantize_ops;
      out["hybrid_ops"] = w.hybrid_ops;
      out["float_weight_bytes"] = w.float_bytes;
      out["int_weight_bytes"] = w.int8_bytes;
      if (recipe.recipe == quant::Recipe::kWeightOnlyInt4) out["block_size"] = args.block_size;
    }
    std::printf("%s\n", out.dump(2).c_str());
    return Status::Ok();
  }
  std::printf("quantized %s -> %s\n", args.model.c_str(), args.output.c_str());
  if (quant::NeedsCalibration(recipe.recipe)) {
    // The integer GATHER needs one scale for the table (QUANT_SPEC.md).
    std::printf("  recipe %s, weights per %s (embedding table per tensor)\n",
                quant::RecipeName(recipe.recipe), quant::GranularityName(recipe.granularity));
  } else {
    std::printf("  recipe %s, weights per %s (embedding per %s)\n",
                quant::RecipeName(recipe.recipe), quant::GranularityName(recipe.granularity),
                quant::GranularityName(embedding));
  }
  if (quant::NeedsCalibration(recipe.recipe)) {
    std::printf("  calibration %s, observer %s, %.1f s\n", recipe.calibration.c_str(),
                recipe.observer.c_str(), calibrated.stats.seconds);
    for (const quant::ObserverRule& r : recipe.observer_rules) {
      std::printf("  observer rule: '%s' -> %s", r.tensors.c_str(),
                  quant::ObserverKindName(r.observer));
      if (r.observer == quant::ObserverKind::kPercentile) std::printf(" %g", r.percentile);
      std::printf("\n");
    }
    auto list = [](const std::map<std::string, int>& m) {
      std::string s;
      for (const auto& [name, n] : m) s += (s.empty() ? "" : ", ") + name + " " + std::to_string(n);
      return s.empty() ? std::string("none") : s;
    };
    std::printf("  integer ops: %s\n", list(a.integer_ops).c_str());
    std::printf("  float ops:   %s\n", list(a.float_ops).c_str());
    std::printf("  %d QUANTIZE, %d DEQUANTIZE at float/integer boundaries; KV cache %s\n",
                a.quantize_ops, a.dequantize_ops, args.kv_dtype.c_str());
    std::printf("  weights: %.1f MB float32 -> %.1f MB integer\n", a.float_weight_bytes / 1e6,
                a.int_weight_bytes / 1e6);
    if (plan) {
      std::string names;
      for (const auto& g : plan->float_groups) names += (names.empty() ? "" : ", ") + g;
      const bool by_kl = plan->target.metric == eval::PlanTarget::Metric::kMeanKl;
      char target[96], baseline[96], achieved[96];
      if (by_kl) {
        std::snprintf(target, sizeof(target), "KL %.6g", plan->target.value);
      } else {
        std::snprintf(target, sizeof(target), "PPL change %+.4g%%", plan->target.value);
      }
      std::snprintf(baseline, sizeof(baseline), "KL %.6f, PPL %+.3f%%", plan->baseline_kl,
                    plan->baseline_ppl_delta_percent);
      std::snprintf(achieved, sizeof(achieved), "KL %.6f, PPL %+.3f%%", plan->achieved_kl,
                    plan->achieved_ppl_delta_percent);
      std::printf(
          "  mixed precision: target %s; all quantized %s -> %s with %zu float group(s) [%s] "
          "(+%.2f MB float weights, %d plans measured)%s\n",
          target, baseline, achieved, plan->float_groups.size(),
          names.empty() ? "none" : names.c_str(), plan->extra_float_bytes / 1e6, plan->measurements,
          plan->met ? "" : "; TARGET NOT MET with every helpful group float");
    }
  } else {
    std::printf("  %d weight buffers: %.1f MB float32 -> %.1f MB %s", w.quantized_buffers,
                w.float_bytes / 1e6, w.int8_bytes / 1e6,
                recipe.recipe == quant::Recipe::kWeightOnlyInt4 ? "int4/int8" : "int8");
    if (w.dequantize_ops > 0) std::printf(", %d DEQUANTIZE ops", w.dequantize_ops);
    if (w.hybrid_ops > 0) std::printf(", %d hybrid ops", w.hybrid_ops);
    std::printf("\n");
  }
  if (!args.ple_dtype.empty()) {
    std::printf("  per-layer embedding table: %s%s\n", args.ple_dtype.c_str(),
                args.ple_dtype == "fp16" ? " (float16 + DEQUANTIZE)" : "");
  }
  if (report.float16.buffers > 0) {
    std::printf("  float16 + DEQUANTIZE: %d table%s, %.2f MB float32 -> %.2f MB\n",
                report.float16.buffers, report.float16.buffers == 1 ? "" : "s",
                report.float16.float32_bytes / 1e6, report.float16.float16_bytes / 1e6);
  }
  std::printf("  signatures:");
  for (const auto& s : model.signatures) std::printf(" %s", s.key.c_str());
  std::printf("\n  max_seq %d, %.1f MB, %.2f s\n", options.max_seq, bytes / 1e6, seconds);
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
  cmd->add_option("--recipe", args->recipe,
                  "Quantization recipe (" + recipes + "); required unless --recipe-file sets it");
  cmd->add_option("--recipe-file", args->recipe_file,
                  "JSON recipe: {\"recipe\", \"granularity\", \"block_size\", \"observer\", "
                  "\"rules\": [{\"tensors\": REGEX, \"precision\": float|int8|int4, "
                  "\"granularity\", \"block_size\"}]}; the first rule matching a weight's name "
                  "decides; command-line flags win over the file's top-level keys");
  cmd->add_option(
      "--granularity", args->granularity,
      "Weight scales per output channel or per tensor: channel|tensor (default channel)");
  cmd->add_option("--embedding-granularity", args->embedding_granularity,
                  "Embedding table scales per token row or per tensor: channel|tensor "
                  "(default: as --granularity)");
  cmd->add_option("--block-size", args->block_size,
                  "weight_only_int4: scales per 32, 64 or 128 input columns; 0 = per channel");
  cmd->add_option("-o,--output", args->output, "Output .tflite path")->required();
  cmd->add_option("--prefill-len", args->prefill_lengths,
                  "Prefill signature length(s); repeat for several (default 128)");
  cmd->add_option("--max-seq", args->max_seq, "KV cache length (default 1024)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--calib", args->calib,
                  "Calibration JSONL ({\"text\"} or {\"ids\"} per line; default: bundled "
                  "data/brown/calib.jsonl)");
  cmd->add_option("--calib-samples", args->calib_samples, "Calibration samples (default 128)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--calib-decode", args->calib_decode,
                  "Tokens decoded after each long sample's prefill (default 16)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--observer", args->observer,
                  "Activation range observer: minmax|moving_average|percentile|mse|kl "
                  "(default moving_average; minmax for static_16x8)");
  cmd->add_option("--percentile", args->percentile, "percentile observer: kept share (99.99)")
      ->check(CLI::Range(50.0, 100.0));
  cmd->add_option("--kv-dtype", args->kv_dtype,
                  "static recipes: KV cache float32 (default; LiteRT JS needs it) or int8");
  cmd->add_option("--float-ops", args->float_ops,
                  "keep ops whose type matches this regex in float (weight-only/dynamic: their "
                  "weights stay float32)");
  cmd->add_option("--float-tensors", args->float_tensors,
                  "keep ops whose output name matches this regex in float (weight-only/dynamic: "
                  "their weights stay float32)");
  cmd->add_flag("--int8-norm-statistics", args->int8_norm_statistics,
                "static recipes: compute RMSNorm statistics (x*x, mean, rsqrt) in integers too "
                "(default: float, as int8 loses ~0.4% PPL there; static_int8_strict always does)");
  cmd->add_option("--inject-outliers", args->inject_outliers,
                  "Test model: before quantizing, inject function-preserving activation "
                  "outliers into the pre-attention/pre-MLP norms of LAYERS[:FACTOR] "
                  "(\"all\" or e.g. \"1,3\"; factor default 30; 2% of channels)");
  cmd->add_option("--smoothquant", args->smoothquant,
                  "static recipes: migrate activation outliers into the weights with this "
                  "alpha (e.g. 0.5) before calibration")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer for --calib text");
  cmd->add_option("--threads", args->threads, "Threads for calibration")->check(CLI::Range(1, 256));
  cmd->add_option("--matformer", args->matformer, MatformerHelp());
  cmd->add_option("--ple-dtype", args->ple_dtype,
                  "gemma3n: precision of the per-layer embedding table: float32, fp16 (float16 "
                  "+ DEQUANTIZE) or int8 (= the default: the recipe's integer table, int8; "
                  "static_16x8 keeps its integer GATHER in int16)");
  cmd->add_option("--rope-dtype", args->rope_dtype,
                  "weight-only and dynamic recipes: RoPE cos/sin tables as fp16 (float16 + "
                  "DEQUANTIZE, default) or float32 (static recipes quantize them)");
  cmd->add_option("--target-kl", args->target_kl,
                  "static recipes: keep the fewest op groups float that bring the mean KL vs the "
                  "float model on --kl-data down to this (sensitivity sweep; plan in metadata)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--target-ppl-delta", args->target_ppl_delta,
                  "static recipes: like --target-kl, for the perplexity change in percent on "
                  "--kl-data (e.g. 0.5 = at most 0.5% above the float model)");
  cmd->add_option("--kl-data", args->kl_data,
                  "--target-kl: evaluation JSONL (default: bundled data/brown/eval.jsonl)");
  cmd->add_option("--kl-windows", args->kl_windows, "--target-kl: windows (default 8)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--kl-seq", args->kl_seq, "--target-kl: window length (default 128)")
      ->check(CLI::Range(2, 1 << 20));
  cmd->add_option(
      "--group-by", args->group_by,
      "--target-kl: op groups by type across layers (default) or per layer: type|layer");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result, cmd] {
    *result = ApplyRecipeFile(*cmd, *args);
    if (result->ok()) *result = RunQuantize(*args);
  });
}

}  // namespace
LITEQ_REGISTER_COMMAND("quantize", SetupQuantize);
}  // namespace liteq::cli
