// `liteq eval MODEL.tflite [--data eval.jsonl]`: perplexity over fixed windows of the
// evaluation text (BOS + ids + EOS per document, concatenated, cut into --seq tokens).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
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
  int threads = 1;
  bool json = false;
};

Status RunEval(const EvalArgs& args) {
  LITEQ_ASSIGN_OR_RETURN(auto interpreter,
                         runtime::Interpreter::Load(args.model, {.num_threads = args.threads}));
  LITEQ_ASSIGN_OR_RETURN(auto tok, LoadTokenizerForModel(interpreter->model(), args.tokenizer));
  LITEQ_ASSIGN_OR_RETURN(auto session, generate::Session::Create(interpreter.get()));
  if (args.seq > session->shape().max_seq) {
    return InvalidArgumentError("--seq " + std::to_string(args.seq) + " exceeds the model's max_seq " +
                                std::to_string(session->shape().max_seq));
  }
  LITEQ_ASSIGN_OR_RETURN(auto windows,
                         tokenizer::LoadCorpusWindows(*tok, args.data, args.seq, args.windows));
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
  auto* cmd = app.add_subcommand("eval", "Perplexity of a model over fixed windows of text");
  cmd->add_option("model", args->model, "The .tflite model")->required();
  cmd->add_option("--data", args->data, "JSONL with a \"text\" field per line (default: bundled Brown eval split)");
  cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer (default: from the model's metadata)");
  cmd->add_option("--seq", args->seq, "Window length in tokens")->check(CLI::Range(2, 1 << 20));
  cmd->add_option("--windows", args->windows, "Evaluate the first N windows (default 64, as the reference; 0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", args->threads, "Worker threads")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunEval(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("eval", SetupEval);
}  // namespace liteq::cli
