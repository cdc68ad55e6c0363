// `liteq debug QUANT.tflite --reference FLOAT [--calib calib.jsonl]`: per-tensor
// quantization error on real token sequences through prefill and decode
// (eval/quant_debugger.h), worst first, as a table, JSON and/or a self-contained HTML
// report; plus the KL growth over a long teacher-forced decode.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli_util.h"
#include "commands.h"
#include "common/atomic_file.h"
#include "eval/quant_debug_html.h"
#include "eval/quant_debugger.h"
#include "eval/weight_error.h"
#include "quant/calibration.h"
#include "tflite/reader.h"

namespace liteq::cli {
namespace {

struct DebugArgs {
  std::string model;
  std::string reference;
  std::string calib;
  std::string tokenizer;
  std::string html;
  int samples = 16;
  int decode = 16;
  int growth_prompts = 4;
  int growth_prompt_tokens = 16;
  int growth_steps = 64;
  int top = 20;
  int threads = 1;
  bool json = false;
};

// Prefill lengths and max_seq from liteq's signature layout (tokens [1, T],
// kv_cache_k_0 [1, max_seq, heads, dim]).
void SignatureLayout(const graph::Model& model, std::vector<int>* prefill, int* max_seq) {
  for (const graph::Signature& sig : model.signatures) {
    if (sig.subgraph >= model.subgraphs.size()) continue;
    const graph::Subgraph& sg = model.subgraphs[sig.subgraph];
    for (const auto& [name, t] : sig.inputs) {
      if (t < 0 || static_cast<size_t>(t) >= sg.tensors.size()) continue;
      const auto& shape = sg.tensors[t].shape;
      if (name == "tokens" && shape.size() == 2 && sig.key != "decode")
        prefill->push_back(shape[1]);
      if (name == "kv_cache_k_0" && shape.size() >= 2) *max_seq = shape[1];
    }
  }
  std::sort(prefill->begin(), prefill->end());
}

Result<std::shared_ptr<const graph::Model>> LoadReferenceGraph(const std::string& path,
                                                               const std::vector<int>& prefill,
                                                               int max_seq) {
  if (std::filesystem::path(path).extension() == ".tflite") return tflite::ReadTflite(path);
  model::ExportOptions used;
  auto graph = BuildFloatGraph(path, prefill, max_seq, &used);
  if (!graph.ok()) return graph.status().WithContext("reference " + path);
  return std::make_shared<const graph::Model>(std::move(graph).value());
}

Status RunDebug(const DebugArgs& args) {
  LITEQ_ASSIGN_OR_RETURN(std::shared_ptr<const graph::Model> quantized,
                         tflite::ReadTflite(args.model));
  std::vector<int> prefill;
  int max_seq = 0;
  SignatureLayout(*quantized, &prefill, &max_seq);
  if (prefill.empty() || max_seq <= 0) {
    return InvalidArgumentError(args.model + ": no prefill signature with liteq's layout");
  }
  LITEQ_ASSIGN_OR_RETURN(auto reference, LoadReferenceGraph(args.reference, prefill, max_seq));
  auto tok = LoadTokenizerForModel(*quantized, args.tokenizer);
  const tokenizer::Tokenizer* tokenizer = tok.ok() ? tok->get() : nullptr;
  const std::string calib = args.calib.empty() ? DefaultCalibData() : args.calib;
  LITEQ_ASSIGN_OR_RETURN(
      std::vector<std::vector<int32_t>> samples,
      quant::LoadCalibrationSamples(calib, tokenizer, args.samples, prefill.back(), args.decode,
                                    CalibrationSkipIds(*quantized)));
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& s : samples) {
    if (static_cast<int>(prompts.size()) >= args.growth_prompts) break;
    if (static_cast<int>(s.size()) >= args.growth_prompt_tokens) {
      prompts.emplace_back(s.begin(), s.begin() + args.growth_prompt_tokens);
    }
  }
  eval::QuantDebugOptions options;
  options.growth_steps = args.growth_steps;
  options.num_threads = args.threads;
  const bool tty = isatty(fileno(stderr)) != 0;
  options.progress = [tty](const char* what, int done, int total) {
    if (tty) std::fprintf(stderr, "\r  %s %d/%d%s", what, done, total, done == total ? "\n" : "");
  };
  LITEQ_ASSIGN_OR_RETURN(eval::QuantDebugReport report,
                         eval::DebugQuantization(quantized, reference, samples, prompts, options));
  LITEQ_ASSIGN_OR_RETURN(std::vector<eval::WeightError> weights,
                         eval::CompareWeights(*quantized, *reference));
  if (!args.html.empty()) {
    const std::string html = eval::RenderQuantDebugHtml(
        report, {.model = args.model, .reference = args.reference, .data = calib});
    LITEQ_ASSIGN_OR_RETURN(AtomicFileWriter out, AtomicFileWriter::Create(args.html));
    LITEQ_RETURN_IF_ERROR(out.Write(html.data(), html.size()));
    LITEQ_RETURN_IF_ERROR(out.Commit());
  }
  const size_t top = static_cast<size_t>(args.top);
  if (args.json) {
    nlohmann::json j = eval::QuantDebugReportToJson(report, top);
    j["weights"] = eval::WeightErrorsToJson(weights, top);
    j["weight_count"] = weights.size();
    j["model"] = args.model;
    j["reference"] = args.reference;
    j["calib"] = calib;
    if (!args.html.empty()) j["html"] = args.html;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("model      %s\nreference  %s\nsamples    %s\n", args.model.c_str(),
                args.reference.c_str(), calib.c_str());
    std::printf("%s", eval::FormatQuantDebugReport(report, top).c_str());
    if (!weights.empty()) std::printf("\n%s", eval::FormatWeightErrors(weights, top).c_str());
    if (!args.html.empty()) std::printf("HTML report: %s\n", args.html.c_str());
  }
  return Status::Ok();
}

void SetupDebug(CLI::App& app, Status* result) {
  auto args = std::make_shared<DebugArgs>();
  auto* cmd = app.add_subcommand(
      "debug", "Per-tensor quantization error against a float reference, on real tokens");
  cmd->add_option("model", args->model, "The quantized .tflite model")->required();
  cmd->add_option("--reference", args->reference,
                  "The float reference: a .tflite or a checkpoint (model dir or llama2.c .bin, "
                  "built in memory with the model's signature layout)")
      ->required();
  cmd->add_option("--calib", args->calib,
                  "Token sequences: JSONL with {\"text\"} or {\"ids\"} per line (default: "
                  "bundled data/brown/calib.jsonl)");
  cmd->add_option("--samples", args->samples, "Sequences to run (default 16)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--decode", args->decode,
                  "Tokens decoded after each long sequence's prefill (default 16)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--growth-steps", args->growth_steps,
                  "Decode steps of the error-growth measurement (default 64; 0 = skip)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--growth-prompts", args->growth_prompts,
                  "Prompts for the growth measurement (4)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--growth-prompt-tokens", args->growth_prompt_tokens,
                  "Tokens per growth prompt (default 16)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--top", args->top, "Rows of the table / JSON, worst first (default 20; 0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--html", args->html, "Also write a self-contained HTML report to this file");
  cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer for --calib text");
  cmd->add_option("--threads", args->threads, "Worker threads")->check(CLI::Range(1, 256));
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunDebug(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("debug", SetupDebug);
}  // namespace liteq::cli
