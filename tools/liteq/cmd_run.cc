// `liteq run MODEL.tflite --prompt TEXT`: generate text with liteq's runtime, streaming
// tokens as they are sampled.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "generate/session.h"
#include "runtime/interpreter.h"
#include "tokenizer/tokenizer.h"

namespace liteq::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string tokenizer;
  std::string prompt = "Once upon a time";
  int max_new_tokens = 64;
  generate::SamplerOptions sampler;
  int threads = PhysicalCores();
  std::string int8_arithmetic = "reference";
  bool no_bos = false;
  bool json = false;
};

double Seconds(std::chrono::steady_clock::time_point from) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
}

runtime::Int8Arithmetic Int8Arithmetic(const RunArgs& args) {
  return args.int8_arithmetic == "xnnpack" ? runtime::Int8Arithmetic::kXnnpack
                                           : runtime::Int8Arithmetic::kTfliteReference;
}

Status RunGenerate(const RunArgs& args) {
  const auto load_start = std::chrono::steady_clock::now();
  LITEQ_ASSIGN_OR_RETURN(auto interpreter,
                         runtime::Interpreter::Load(args.model, {.num_threads = args.threads,
                                                                .int8_arithmetic = Int8Arithmetic(args)}));
  LITEQ_ASSIGN_OR_RETURN(auto tok, LoadTokenizerForModel(interpreter->model(), args.tokenizer));
  LITEQ_ASSIGN_OR_RETURN(auto session, generate::Session::Create(interpreter.get()));
  const double load_seconds = Seconds(load_start);

  std::vector<int32_t> prompt = tok->Encode(args.prompt, /*add_special=*/false);
  if (!args.no_bos && tok->bos_id() >= 0) prompt.insert(prompt.begin(), tok->bos_id());
  generate::GenerateOptions options{.max_new_tokens = args.max_new_tokens,
                                    .sampler = args.sampler,
                                    .eos_id = EosIdForModel(interpreter->model(), *tok)};
  tokenizer::StreamDecoder stream(*tok);
  // The prompt is the decoder's context, so the first new token keeps its leading
  // space (SentencePiece decoders strip it at the start of a text).
  for (int32_t id : prompt) stream.Push(id);
  std::string text;
  if (!args.json) std::printf("%s", args.prompt.c_str());
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  double first_token_seconds = 0.0;
  int count = 0;
  auto on_token = [&](int32_t id) {
    if (count++ == 0) first_token_seconds = Seconds(start);
    if (id == options.eos_id) return;
    std::string piece = stream.Push(id);
    text += piece;
    if (!args.json) {
      std::fputs(piece.c_str(), stdout);
      std::fflush(stdout);
    }
  };
  LITEQ_ASSIGN_OR_RETURN(std::vector<int32_t> out,
                         generate::Generate(*session, prompt, options, on_token));
  std::string tail = stream.Flush();
  text += tail;
  const double total = Seconds(start);
  const double decode_seconds = total - first_token_seconds;
  const double decode_tps = out.size() > 1 ? (out.size() - 1) / decode_seconds : 0.0;
  if (args.json) {
    nlohmann::json j = {{"prompt", args.prompt},   {"prompt_ids", prompt},
                        {"ids", out},              {"text", text},
                        {"load_seconds", load_seconds}, {"ttft_seconds", first_token_seconds},
                        {"decode_tokens_per_second", decode_tps}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s\n", tail.c_str());
    std::fprintf(stderr,
                 "\n[%zu prompt tokens, %zu new tokens; load %.2f s, time to first token %.1f ms, "
                 "decode %.1f tok/s]\n",
                 prompt.size(), out.size(), load_seconds, 1e3 * first_token_seconds, decode_tps);
  }
  return Status::Ok();
}

void SetupRun(CLI::App& app, Status* result) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Generate text from a prompt with liteq's runtime");
  cmd->add_option("model", args->model, "The .tflite model")->required();
  cmd->add_option("--tokenizer", args->tokenizer,
                  "tokenizer.json, model dir or llama2.c tokenizer (default: from the model's metadata)");
  cmd->add_option("-p,--prompt", args->prompt, "Prompt text");
  cmd->add_option("-n,--max-new-tokens", args->max_new_tokens, "Tokens to generate")->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature", args->sampler.temperature, "0 = greedy");
  cmd->add_option("--top-k", args->sampler.top_k, "Sample from the k most likely tokens (0 = all)");
  cmd->add_option("--top-p", args->sampler.top_p, "Nucleus sampling mass (1 = off)");
  cmd->add_option("--seed", args->sampler.seed, "Random seed for sampling");
  cmd->add_option("--threads", args->threads, "Worker threads (default: physical cores)")->check(CLI::PositiveNumber);
  cmd->add_option("--int8-arithmetic", args->int8_arithmetic, "int8 arithmetic: reference (TFLite's reference kernels, default) or xnnpack (what LiteRT's XNNPACK delegate computes, for comparisons with LiteRT)")
      ->check(CLI::IsMember({"reference", "xnnpack"}));
  cmd->add_flag("--no-bos", args->no_bos, "Do not prepend the BOS token");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunGenerate(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("run", SetupRun);
}  // namespace liteq::cli
