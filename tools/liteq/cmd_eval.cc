// `liteq eval MODEL.tflite [--data eval.jsonl]`: perplexity over fixed windows of the
// evaluation text (BOS + ids + EOS per document, concatenated, cut into --seq tokens).
// With `--reference REF` (a float .tflite or a checkpoint), both models run the same
// windows and their next-token distributions are compared (eval/kl_divergence.h), then
// both continue the first texts' prompts greedily (eval/model_comparison.h).
// --data may instead hold token ids, {"ids": [...]} per line (for models without a
// tokenizer, such as the random-weight family fixtures): the documents' ids are
// concatenated as given (no BOS/EOS added) and cut into windows; greedy prompts are
// the first --prompt-tokens ids of the first documents.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_util.h"
#include "commands.h"
#include "eval/model_comparison.h"
#include "eval/perplexity.h"
#include "generate/session.h"
#include "runtime/interpreter.h"
#include "tokenizer/corpus.h"

namespace liteq::cli {
namespace {

struct EvalArgs {
  std::string model;
  std::string data;
  std::string tokenizer;
  int seq = 256;
  int windows = 64;  // as the transformers reference; 0 = all
  int threads = PhysicalCores();
  std::string int8_arithmetic = "reference";
  bool int4_int8_activations = true;
  bool json = false;
  // Comparison with a reference model.
  std::string reference;
  int prompts = 8;
  int prompt_tokens = 32;
  int gen = 64;
};

// Windows and greedy prompts of --data, and the tokenizer when there is one (required
// for text data, optional for id data).
struct EvalData {
  std::unique_ptr<tokenizer::Tokenizer> tok;
  std::vector<std::vector<int32_t>> windows;
  std::vector<std::vector<int32_t>> prompts;
};

// The documents of an id file ({"ids": [...]} per line), or nothing if the first
// non-empty line is not one (a text file).
Result<std::optional<std::vector<std::vector<int32_t>>>> ReadIdDocuments(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError(path + ": cannot open");
  std::vector<std::vector<int32_t>> docs;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const bool is_ids = j.is_object() && j.contains("ids");
    if (docs.empty() && !is_ids) return std::optional<std::vector<std::vector<int32_t>>>();
    const std::string where = path + ":" + std::to_string(n);
    if (!is_ids || !j["ids"].is_array()) {
      return InvalidArgumentError(where + ": expected {\"ids\": [...]} like the lines before");
    }
    std::vector<int32_t> ids;
    for (const auto& v : j["ids"]) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
        return InvalidArgumentError(where + ": token ids must be non-negative int32 values");
      }
      ids.push_back(v.get<int32_t>());
    }
    docs.push_back(std::move(ids));
  }
  return std::optional<std::vector<std::vector<int32_t>>>(std::move(docs));
}

Result<EvalData> LoadEvalData(const EvalArgs& args, const graph::Model& model, int prompts) {
  EvalData d;
  LITEQ_ASSIGN_OR_RETURN(auto id_docs, ReadIdDocuments(args.data));
  auto tok = LoadTokenizerForModel(model, args.tokenizer);
  if (id_docs.has_value()) {
    if (tok.ok()) d.tok = std::move(tok).value();
    std::vector<int32_t> all;
    for (const auto& doc : *id_docs) all.insert(all.end(), doc.begin(), doc.end());
    d.windows = tokenizer::MakeWindows(all, args.seq, args.windows);
    for (const auto& doc : *id_docs) {
      if (static_cast<int>(d.prompts.size()) >= prompts) break;
      if (doc.empty()) continue;
      d.prompts.emplace_back(doc.begin(),
                             doc.begin() + std::min<size_t>(doc.size(), args.prompt_tokens));
    }
    return d;
  }
  if (!tok.ok()) return tok.status();
  d.tok = std::move(tok).value();
  LITEQ_ASSIGN_OR_RETURN(d.windows,
                         tokenizer::LoadCorpusWindows(*d.tok, args.data, args.seq, args.windows));
  if (prompts > 0) {
    LITEQ_ASSIGN_OR_RETURN(std::vector<std::string> texts, tokenizer::ReadJsonlTexts(args.data));
    d.prompts = eval::MakePrompts(*d.tok, texts, prompts, args.prompt_tokens, d.tok->bos_id());
  }
  return d;
}

void PrintEstimate(const char* label, const eval::Estimate& e, double scale, const char* unit) {
  std::printf("%-18s %12.6f%-2s ± %-10.6f [95%% CI %.6f, %.6f]\n", label, scale * e.value, unit,
              scale * e.std_error, scale * e.ci95_low, scale * e.ci95_high);
}

void PrintComparison(const EvalArgs& args, const tokenizer::Tokenizer* tok,
                     const eval::WindowComparison& c, const eval::GreedyComparison& g) {
  const eval::KlDivergenceStats& s = c.stats;
  std::printf("model              %s\n", args.model.c_str());
  std::printf("reference          %s\n", args.reference.c_str());
  std::printf("data               %s (%zu windows x %d tokens, %lld tokens scored)\n",
              args.data.c_str(), c.windows, args.seq, static_cast<long long>(s.tokens));
  PrintEstimate("PPL reference", s.ppl_reference, 1.0, "");
  PrintEstimate("PPL model", s.ppl_quantized, 1.0, "");
  PrintEstimate("PPL ratio", s.ppl_ratio, 1.0, "");
  std::printf("%-18s %+12.6f %%\n", "PPL change", s.ppl_delta_percent);
  PrintEstimate("mean KL", s.kl.mean, 1.0, "");
  std::printf("%-18s median %.6g, p99 %.6g, max %.6g\n", "KL distribution", s.kl.median, s.kl.p99,
              s.kl.max);
  PrintEstimate("same top-1", s.same_top, 100.0, " %");
  PrintEstimate("RMS Δp", s.delta_p_rms, 100.0, " %");
  std::printf("%-18s mean %+.4f %%, min %+.4f %%, max %+.4f %%\n", "Δp of next token",
              100.0 * s.delta_p.mean.value, 100.0 * s.delta_p.min, 100.0 * s.delta_p.max);
  std::printf("%-18s %.2f s\n", "time (windows)", c.seconds);
  if (g.prompts.empty()) return;
  std::printf("greedy             %zu prompts x %d new tokens: %d identical, %.1f%% of positions "
              "before the first divergence (%.2f s)\n",
              g.prompts.size(), g.new_tokens, g.identical_prompts, 100.0 * g.agreeing_prefix_fraction,
              g.seconds);
  for (size_t i = 0; i < g.prompts.size(); ++i) {
    const eval::GreedyDivergence& d = g.prompts[i];
    std::string text = tok != nullptr ? tok->Decode(d.prompt, /*skip_special=*/true)
                                      : std::to_string(d.prompt.size()) + " ids";
    std::replace(text.begin(), text.end(), '\n', ' ');
    if (text.size() > 40) {
      size_t cut = 37;  // back to a UTF-8 character boundary
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
      text = text.substr(0, cut) + "...";
    }
    if (d.first_divergence < 0) {
      std::printf("  prompt %-3zu identical                                  \"%s\"\n", i, text.c_str());
    } else {
      std::printf("  prompt %-3zu diverges at new token %-3d (margin %.3f)  \"%s\"\n", i,
                  d.first_divergence, d.reference_margin, text.c_str());
    }
  }
}

runtime::Int8Arithmetic Int8Arithmetic(const EvalArgs& args) {
  return args.int8_arithmetic == "xnnpack" ? runtime::Int8Arithmetic::kXnnpack
                                           : runtime::Int8Arithmetic::kTfliteReference;
}

Status RunComparison(const EvalArgs& args) {
  const runtime::InterpreterOptions options{.num_threads = args.threads,
                                            .int4_int8_activations = args.int4_int8_activations,
                                            .int8_arithmetic = Int8Arithmetic(args)};
  LITEQ_ASSIGN_OR_RETURN(auto interpreter, runtime::Interpreter::Load(args.model, options));
  LITEQ_ASSIGN_OR_RETURN(auto session, generate::Session::Create(interpreter.get()));
  // A checkpoint reference is built with the model's own signature layout.
  std::vector<int> prefill_lengths;
  for (const auto& p : session->shape().prefill) prefill_lengths.push_back(p.length);
  LITEQ_ASSIGN_OR_RETURN(auto reference_interpreter,
                         LoadReferenceInterpreter(args.reference, prefill_lengths,
                                                  session->shape().max_seq, options));
  LITEQ_ASSIGN_OR_RETURN(auto reference, generate::Session::Create(reference_interpreter.get()));
  const int max_seq = std::min(session->shape().max_seq, reference->shape().max_seq);
  if (args.seq > max_seq) {
    return InvalidArgumentError("--seq " + std::to_string(args.seq) + " exceeds the models' max_seq " +
                                std::to_string(max_seq));
  }
  if (args.prompts > 0 && args.prompt_tokens + args.gen > max_seq) {
    return InvalidArgumentError("--prompt-tokens " + std::to_string(args.prompt_tokens) + " plus --gen " +
                                std::to_string(args.gen) + " exceeds the models' max_seq " +
                                std::to_string(max_seq));
  }
  LITEQ_ASSIGN_OR_RETURN(EvalData data, LoadEvalData(args, interpreter->model(), args.prompts));
  const auto& windows = data.windows;
  if (windows.empty()) {
    return InvalidArgumentError(args.data + ": fewer than " + std::to_string(args.seq) +
                                " tokens, no complete window");
  }
  auto progress = [&](const char* what, size_t total) {
    return [&args, what, total](size_t i) {
      if (!args.json) std::fprintf(stderr, "\r  %s %zu/%zu", what, i + 1, total);
    };
  };
  LITEQ_ASSIGN_OR_RETURN(eval::WindowComparison compared,
                         eval::CompareOnWindows(*reference, *session, windows,
                                                progress("window", windows.size())));
  if (!args.json) std::fprintf(stderr, "\n");
  eval::GreedyComparison greedy;
  if (args.prompts > 0) {
    const auto& prompts = data.prompts;
    LITEQ_ASSIGN_OR_RETURN(greedy, eval::CompareGreedy(*reference, *session, prompts, args.gen,
                                                       progress("prompt", prompts.size())));
    if (!args.json) std::fprintf(stderr, "\n");
  }
  if (args.json) {
    nlohmann::json j = eval::WindowComparisonToJson(compared);
    j["model"] = args.model;
    j["reference"] = args.reference;
    j["data"] = args.data;
    j["seq"] = args.seq;
    j["greedy"] = eval::GreedyComparisonToJson(greedy);
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    PrintComparison(args, data.tok.get(), compared, greedy);
  }
  return Status::Ok();
}

Status RunEval(const EvalArgs& args) {
  if (!args.reference.empty()) return RunComparison(args);
  LITEQ_ASSIGN_OR_RETURN(auto interpreter,
                         runtime::Interpreter::Load(
                             args.model, {.num_threads = args.threads,
                                          .int4_int8_activations = args.int4_int8_activations,
                                          .int8_arithmetic = Int8Arithmetic(args)}));
  LITEQ_ASSIGN_OR_RETURN(auto session, generate::Session::Create(interpreter.get()));
  if (args.seq > session->shape().max_seq) {
    return InvalidArgumentError("--seq " + std::to_string(args.seq) + " exceeds the model's max_seq " +
                                std::to_string(session->shape().max_seq));
  }
  LITEQ_ASSIGN_OR_RETURN(EvalData data, LoadEvalData(args, interpreter->model(), 0));
  const auto& windows = data.windows;
  if (windows.empty()) {
    return InvalidArgumentError(args.data + ": fewer than " + std::to_string(args.seq) +
                                " tokens, no complete window");
  }
  auto progress = [&](size_t w) {
    if (!args.json) std::fprintf(stderr, "\r  window %zu/%zu", w + 1, windows.size());
  };
  LITEQ_ASSIGN_OR_RETURN(eval::PerplexityResult r,
                         eval::EvaluatePerplexity(*session, windows, progress));
  if (!args.json) std::fprintf(stderr, "\n");
  if (args.json) {
    nlohmann::json j = {{"model", args.model},      {"data", args.data},
                        {"seq", args.seq},          {"windows", windows.size()},
                        {"tokens_scored", r.tokens_scored}, {"mean_nll", r.mean_nll},
                        {"perplexity", r.perplexity}, {"seconds", r.seconds},
                        {"window_nll", r.window_nll}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("model       %s\n", args.model.c_str());
    std::printf("data        %s (%zu windows x %d tokens)\n", args.data.c_str(), windows.size(), args.seq);
    std::printf("mean NLL    %.6f\n", r.mean_nll);
    std::printf("perplexity  %.4f\n", r.perplexity);
    std::printf("time        %.2f s (%.0f tokens/s)\n", r.seconds,
                (windows.size() * args.seq) / r.seconds);
  }
  return Status::Ok();
}

void SetupEval(CLI::App& app, Status* result) {
  auto args = std::make_shared<EvalArgs>();
  args->data = DefaultEvalData();
  auto* cmd = app.add_subcommand("eval", "Perplexity of a model over fixed windows of text, or its divergence from a reference");
  cmd->add_option("model", args->model, "The .tflite model")->required();
  cmd->add_option(
      "--data", args->data,
      "JSONL with a \"text\" (or \"ids\") field per line (default: bundled Brown eval split)");
  cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer (default: from the model's metadata)");
  cmd->add_option("--seq", args->seq, "Window length in tokens")->check(CLI::Range(2, 1 << 20));
  cmd->add_option("--windows", args->windows, "Evaluate the first N windows (default 64, as the reference; 0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", args->threads, "Worker threads (default: physical cores)")->check(CLI::PositiveNumber);
  cmd->add_option("--int8-arithmetic", args->int8_arithmetic, "int8 arithmetic: reference (TFLite's reference kernels, default) or xnnpack (what LiteRT's XNNPACK delegate computes, for comparisons with LiteRT)")
      ->check(CLI::IsMember({"reference", "xnnpack"}));
  cmd->add_option("--reference", args->reference,
                  "Compare against this reference: a float .tflite or a checkpoint (model dir "
                  "or llama2.c .bin, built in memory)");
  cmd->add_option("--prompts", args->prompts,
                  "With --reference: greedy continuations of the first N texts (default 8; 0 = none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--prompt-tokens", args->prompt_tokens,
                  "With --reference: prompt length in tokens, BOS included (default 32)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--gen", args->gen, "With --reference: new tokens per prompt (default 64)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("!--float-int4-activations", args->int4_int8_activations,
                "Decode int4 weights against float activations (the exact path) instead of "
                "activations quantized to int8 per group of 32");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunEval(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("eval", SetupEval);
}  // namespace liteq::cli
