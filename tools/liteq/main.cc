// liteq: quantize LLMs into LiteRT models, run them and measure what quantization did.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "commands.h"

namespace liteq::cli {
namespace {

std::vector<std::pair<std::string, CommandSetup>>& Registry() {
  static std::vector<std::pair<std::string, CommandSetup>> registry;
  return registry;
}

}  // namespace

bool RegisterCommand(const char* name, CommandSetup setup) {
  Registry().emplace_back(name, std::move(setup));
  return true;
}

std::string DefaultModelDir() { return std::string(LITEQ_MODELS_DIR) + "/gemma3-tiny"; }
std::string DefaultEvalData() { return std::string(LITEQ_DATA_DIR) + "/brown/eval.jsonl"; }
std::string DefaultCalibData() { return std::string(LITEQ_DATA_DIR) + "/brown/calib.jsonl"; }

}  // namespace liteq::cli

int main(int argc, char** argv) {
  CLI::App app{"liteq " LITEQ_VERSION
               ": post-training quantization of LLMs into LiteRT models, a CPU runtime "
               "for them, and measurements of what quantization did"};
  app.set_version_flag("--version", "liteq " LITEQ_VERSION);
  app.require_subcommand(1);
  liteq::Status result;
  auto& registry = liteq::cli::Registry();
  std::sort(registry.begin(), registry.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, setup] : registry) setup(app, &result);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!result.ok()) {
    std::fprintf(stderr, "liteq: error: %s\n", result.ToString().c_str());
    return 1;
  }
  return 0;
}
