// `liteq demo`: the whole pipeline on the bundled model and data, in one command:
// read the checkpoint, tokenize the evaluation text, export a LiteRT model, generate
// from it, and measure its perplexity against the transformers reference.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli_util.h"
#include "commands.h"
#include "eval/perplexity.h"
#include "generate/session.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "runtime/interpreter.h"
#include "tflite/writer.h"
#include "tokenizer/corpus.h"

namespace liteq::cli {
namespace {

struct DemoArgs {
  std::string model;
  std::string data;
  std::string out_dir = "out";
  std::string prompt = "The jury said that the city";
  int windows = 64;
  bool json = false;
};

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Status RunDemo(const DemoArgs& args) {
  nlohmann::json report;
  // Human-readable progress goes to stdout unless --json asks for one JSON object.
  auto say = [&](const char* format, auto... values) {
    if (!args.json) std::printf(format, values...);
  };
  // 1. The checkpoint.
  LITEQ_ASSIGN_OR_RETURN(std::unique_ptr<io::Checkpoint> opened, io::Checkpoint::Open(args.model));
  std::shared_ptr<const io::Checkpoint> ckpt = std::move(opened);
  LITEQ_ASSIGN_OR_RETURN(model::ModelConfig config, model::ReadModelConfig(*ckpt));
  int64_t params = 0;
  uint64_t bytes = 0;
  for (const auto& t : ckpt->tensors()) {
    params += t.num_elements();
    bytes += t.nbytes;
  }
  report["checkpoint"] = {{"path", args.model}, {"model_type", config.model_type},
                          {"layers", config.num_layers}, {"parameters", params}, {"bytes", bytes}};
  say("== checkpoint  %s\n", args.model.c_str());
  say("   %s, %d layers, hidden %d, %d tensors, %.2fM parameters, %.1f MB on disk\n",
              config.model_type.c_str(), config.num_layers, config.hidden_size,
              static_cast<int>(ckpt->tensors().size()), params / 1e6, bytes / 1e6);

  // 2. The tokenizer on the evaluation text.
  LITEQ_ASSIGN_OR_RETURN(auto tok, tokenizer::Tokenizer::Load(args.model));
  LITEQ_ASSIGN_OR_RETURN(std::vector<std::string> texts, tokenizer::ReadJsonlTexts(args.data));
  auto t = Clock::now();
  std::vector<int32_t> ids = tokenizer::TokenizeDocuments(*tok, texts, tok->bos_id(), tok->eos_id());
  const double tokenize_seconds = Since(t);
  report["tokenizer"] = {{"documents", texts.size()}, {"tokens", ids.size()},
                         {"seconds", tokenize_seconds}};
  say("== tokenizer   %s: %zu documents -> %zu tokens in %.3f s (%.0fk tokens/s)\n",
              args.data.c_str(), texts.size(), ids.size(), tokenize_seconds,
              ids.size() / tokenize_seconds / 1e3);

  // 3. Float LiteRT export.
  std::filesystem::create_directories(args.out_dir);
  const std::string path = args.out_dir + "/" + std::filesystem::path(args.model).filename().string() + ".f32.tflite";
  t = Clock::now();
  LITEQ_ASSIGN_OR_RETURN(graph::Model graph, model::BuildModel(ckpt, {.prefill_lengths = {128}, .max_seq = 1024}));
  LITEQ_RETURN_IF_ERROR(tflite::WriteTflite(graph, path));
  report["export"] = {{"path", path}, {"bytes", std::filesystem::file_size(path)}};
  say("== export      %s: float32, prefill(128) + decode, KV cache 1024, %.1f MB, %.2f s\n",
              path.c_str(), std::filesystem::file_size(path) / 1e6, Since(t));

  // 4. Generation with liteq's runtime.
  LITEQ_ASSIGN_OR_RETURN(auto interpreter, runtime::Interpreter::Load(path));
  LITEQ_ASSIGN_OR_RETURN(auto session, generate::Session::Create(interpreter.get()));
  std::vector<int32_t> prompt = tok->Encode(args.prompt);
  prompt.insert(prompt.begin(), tok->bos_id());
  t = Clock::now();
  LITEQ_ASSIGN_OR_RETURN(std::vector<int32_t> generated,
                         generate::Generate(*session, prompt, {.max_new_tokens = 32}));
  const double generate_seconds = Since(t);
  std::vector<int32_t> all(prompt);
  all.insert(all.end(), generated.begin(), generated.end());
  const std::string text = tok->Decode(std::span<const int32_t>(all).subspan(1));
  report["generate"] = {{"prompt", args.prompt}, {"ids", generated}, {"text", text},
                        {"seconds", generate_seconds}};
  say("== generate    greedy, 32 tokens in %.3f s:\n   %s\n", generate_seconds, text.c_str());

  // 5. Perplexity over the evaluation windows, against transformers' number.
  auto windows = tokenizer::MakeWindows(ids, 256, args.windows);
  LITEQ_ASSIGN_OR_RETURN(eval::PerplexityResult ppl, eval::EvaluatePerplexity(*session, windows));
  report["eval"] = {{"windows", windows.size()}, {"perplexity", ppl.perplexity},
                    {"seconds", ppl.seconds}};
  say("== eval        %zu windows x 256 tokens: perplexity %.4f (%.1f s, %.0f tokens/s)\n",
              windows.size(), ppl.perplexity, ppl.seconds, windows.size() * 256 / ppl.seconds);
  std::ifstream ref_in(args.model + "/reference.json");
  if (ref_in) {
    nlohmann::json ref = nlohmann::json::parse(ref_in, nullptr, false);
    if (!ref.is_discarded() && ref.contains("eval_ppl") && windows.size() == 64) {
      const double expected = ref["eval_ppl"].get<double>();
      report["eval"]["transformers_perplexity"] = expected;
      say("   transformers (fp32) perplexity %.4f: relative difference %.2e\n", expected,
          ppl.perplexity / expected - 1.0);
    }
  }
  if (args.json) std::printf("%s\n", report.dump(2).c_str());
  return Status::Ok();
}

void SetupDemo(CLI::App& app, Status* result) {
  auto args = std::make_shared<DemoArgs>();
  args->model = DefaultModelDir();
  args->data = DefaultEvalData();
  auto* cmd = app.add_subcommand("demo", "Run the whole pipeline on the bundled model and data");
  cmd->add_option("--model", args->model, "Hugging Face model directory (default: bundled gemma3-tiny)");
  cmd->add_option("--data", args->data, "Evaluation JSONL (default: bundled Brown eval split)");
  cmd->add_option("--out-dir", args->out_dir, "Where the exported models go");
  cmd->add_option("--prompt", args->prompt, "Prompt for the generation step");
  cmd->add_option("--windows", args->windows, "Evaluation windows (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", args->json, "Print the results as one JSON object");
  cmd->callback([args, result] { *result = RunDemo(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("demo", SetupDemo);
}  // namespace liteq::cli
