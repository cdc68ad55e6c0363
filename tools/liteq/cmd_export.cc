// `liteq export [MODEL] -o model.tflite`: float32 LiteRT export of a checkpoint.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "model/matformer.h"
#include "model/model.h"
#include "quant/outliers.h"
#include "tflite/writer.h"

namespace liteq::cli {
namespace {

struct ExportArgs {
  std::string model;
  std::string output;
  std::vector<int> prefill_lengths;
  int max_seq = 1024;
  std::string matformer;
  std::string inject_outliers;  // LAYERS[:FACTOR]
  bool json = false;
};

Status RunExport(const ExportArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  model::ExportOptions options;
  LITEQ_ASSIGN_OR_RETURN(graph::Model model,
                         BuildFloatGraph(args.model, args.prefill_lengths, args.max_seq, &options,
                                         args.matformer));
  size_t injected_sites = 0;
  if (!args.inject_outliers.empty()) {
    LITEQ_ASSIGN_OR_RETURN(quant::OutlierOptions outliers,
                           quant::ParseOutlierSpec(args.inject_outliers));
    LITEQ_ASSIGN_OR_RETURN(quant::OutlierReport report,
                           quant::InjectActivationOutliers(model, outliers));
    injected_sites = report.sites.size();
  }
  LITEQ_RETURN_IF_ERROR(tflite::WriteTflite(model, args.output));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto bytes = std::filesystem::file_size(args.output);
  if (args.json) {
    nlohmann::json out = {{"model", args.model}, {"output", args.output}, {"bytes", bytes},
                          {"seconds", seconds}, {"max_seq", options.max_seq},
                          {"prefill_lengths", options.prefill_lengths}};
    if (!args.inject_outliers.empty()) {
      out["inject_outliers"] = args.inject_outliers;
      out["outlier_sites"] = injected_sites;
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("exported %s -> %s\n", args.model.c_str(), args.output.c_str());
    std::printf("  signatures:");
    for (const auto& s : model.signatures) std::printf(" %s", s.key.c_str());
    if (injected_sites > 0) {
      std::printf("\n  injected activation outliers into %zu norm outputs (--inject-outliers %s)",
                  injected_sites, args.inject_outliers.c_str());
    }
    std::printf("\n  max_seq %d, float32, %.1f MB, %.2f s\n", options.max_seq, bytes / 1e6, seconds);
  }
  return Status::Ok();
}

void SetupExport(CLI::App& app, Status* result) {
  auto args = std::make_shared<ExportArgs>();
  args->model = DefaultModelDir();
  auto* cmd = app.add_subcommand("export", "Export a checkpoint as a float32 LiteRT model");
  cmd->add_option("model", args->model, "Hugging Face model dir or llama2.c .bin (default: bundled gemma3-tiny)");
  cmd->add_option("-o,--output", args->output, "Output .tflite path")->required();
  cmd->add_option("--prefill-len", args->prefill_lengths,
                  "Prefill signature length(s); repeat for several (default 128)");
  cmd->add_option("--max-seq", args->max_seq, "KV cache length (default 1024)")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--matformer", args->matformer, MatformerHelp());
  cmd->add_option("--inject-outliers", args->inject_outliers,
                  "Test model: inject function-preserving activation outliers into the "
                  "pre-attention/pre-MLP norms of LAYERS[:FACTOR] (\"all\" or e.g. \"1,3\"; "
                  "factor default 30; 2% of channels, see src/quant/outliers.h)");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunExport(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("export", SetupExport);
}  // namespace liteq::cli
