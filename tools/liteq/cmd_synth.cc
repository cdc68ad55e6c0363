// Benchmark inputs (issue #6):
//   `liteq synth --shape NAME -o DIR`: a Hugging Face directory with random weights at a
//     real model's shape;
//   `liteq gguf MODEL -o FILE.gguf --type q8_0|f16|f32`: the same weights as GGUF, so
//     llama.cpp can run them side by side with liteq.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "bench/synthetic_checkpoint.h"
#include "commands.h"
#include "io/checkpoint.h"
#include "io/gguf_writer.h"

namespace liteq::cli {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

struct SynthArgs {
  std::string shape;
  std::string output;
  std::string dtype = "bf16";
  uint64_t seed = 0;
  bool json = false;
};

Status RunSynth(const SynthArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  LITEQ_ASSIGN_OR_RETURN(bench::SynthShape shape, bench::FindSynthShape(args.shape));
  bench::SynthOptions options;
  options.dtype = args.dtype == "f32" ? bench::SynthDType::kF32 : bench::SynthDType::kBF16;
  options.seed = args.seed;
  options.models_dir = LITEQ_MODELS_DIR;
  LITEQ_RETURN_IF_ERROR(bench::WriteSyntheticCheckpoint(shape, args.output, options));
  const auto bytes = std::filesystem::file_size(args.output + "/model.safetensors");
  const bool has_tokenizer = std::filesystem::exists(args.output + "/tokenizer.json");
  const double seconds = SecondsSince(start);
  if (args.json) {
    const nlohmann::json out = {{"shape", shape.name},
                                {"output", args.output},
                                {"parameters", bench::SynthParameterCount(shape)},
                                {"dtype", args.dtype},
                                {"seed", args.seed},
                                {"safetensors_bytes", bytes},
                                {"tokenizer", has_tokenizer},
                                {"seconds", seconds}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("synthetic %s -> %s: %.1fM parameters, %s, %.1f MB%s, %.1f s\n", shape.name.c_str(),
                args.output.c_str(), bench::SynthParameterCount(shape) / 1e6, args.dtype.c_str(),
                bytes / 1e6, has_tokenizer ? ", tokenizer.json" : ", no tokenizer (feed token ids)",
                seconds);
  }
  return Status::Ok();
}

void SetupSynth(CLI::App& app, Status* result) {
  auto args = std::make_shared<SynthArgs>();
  std::string shapes;
  for (const auto& s : bench::SynthShapes()) shapes += (shapes.empty() ? "" : ", ") + s.name;
  auto* cmd =
      app.add_subcommand("synth", "Write a checkpoint with random weights at a real model's shape");
  cmd->add_option("--shape", args->shape, "Model shape (" + shapes + ")")->required();
  cmd->add_option("-o,--output", args->output, "Output directory")->required();
  cmd->add_option("--dtype", args->dtype, "Stored dtype")->check(CLI::IsMember({"bf16", "f32"}));
  cmd->add_option("--seed", args->seed, "Random seed");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunSynth(*args); });
}

struct GgufArgs {
  std::string model;
  std::string output;
  std::string type = "q8_0";
  bool json = false;
};

Status RunGguf(const GgufArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  LITEQ_ASSIGN_OR_RETURN(auto checkpoint, io::Checkpoint::Open(args.model));
  io::GgufOptions options;
  options.weight_type = args.type == "f32"   ? io::GgufWeightType::kF32
                        : args.type == "f16" ? io::GgufWeightType::kF16
                                             : io::GgufWeightType::kQ8_0;
  options.name = std::filesystem::path(args.model).filename().string();
  LITEQ_RETURN_IF_ERROR(io::WriteCheckpointAsGguf(*checkpoint, args.output, options));
  const auto bytes = std::filesystem::file_size(args.output);
  const double seconds = SecondsSince(start);
  if (args.json) {
    const nlohmann::json out = {{"model", args.model},
                                {"output", args.output},
                                {"type", args.type},
                                {"bytes", bytes},
                                {"seconds", seconds}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("gguf %s -> %s (%s, %.1f MB, %.1f s)\n", args.model.c_str(), args.output.c_str(),
                args.type.c_str(), bytes / 1e6, seconds);
  }
  return Status::Ok();
}

void SetupGguf(CLI::App& app, Status* result) {
  auto args = std::make_shared<GgufArgs>();
  auto* cmd = app.add_subcommand("gguf", "Write a llama/gemma3 checkpoint as GGUF for llama.cpp");
  cmd->add_option("model", args->model, "Hugging Face model directory")->required();
  cmd->add_option("-o,--output", args->output, "Output .gguf path")->required();
  cmd->add_option("--type", args->type, "Weight matrix type")
      ->check(CLI::IsMember({"q8_0", "f16", "f32"}));
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunGguf(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("synth", SetupSynth);
LITEQ_REGISTER_COMMAND("gguf", SetupGguf);
}  // namespace liteq::cli
