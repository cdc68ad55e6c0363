#include "cli_util.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "io/checkpoint.h"
#include "model/matformer.h"
#include "model/model.h"

namespace liteq::cli {

nlohmann::json MetadataJson(const graph::Model& model, const std::string& key) {
  auto it = model.metadata.find(key);
  if (it == model.metadata.end()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

Result<std::unique_ptr<tokenizer::Tokenizer>> LoadTokenizerForModel(
    const graph::Model& model, const std::string& tokenizer_override) {
  if (!tokenizer_override.empty()) return tokenizer::Tokenizer::Load(tokenizer_override);
  nlohmann::json exported = MetadataJson(model, model::kExportMetadataKey);
  if (!exported.contains("source") || !exported["source"].is_string()) {
    return NotFoundError("the model does not record where it came from; pass --tokenizer PATH");
  }
  std::filesystem::path source = exported["source"].get<std::string>();
  if (!std::filesystem::is_directory(source)) source = source.parent_path();
  auto tok = tokenizer::Tokenizer::Load(source.string());
  if (!tok.ok()) {
    return tok.status().WithContext("tokenizer of the checkpoint the model was exported from (pass --tokenizer PATH)");
  }
  return tok;
}

Result<graph::Model> BuildFloatGraph(const std::string& model_path,
                                     const std::vector<int>& prefill_lengths, int max_seq,
                                     model::ExportOptions* used_options,
                                     const std::string& matformer) {
  LITEQ_ASSIGN_OR_RETURN(std::unique_ptr<io::Checkpoint> opened, io::Checkpoint::Open(model_path));
  std::shared_ptr<const io::Checkpoint> checkpoint = std::move(opened);
  nlohmann::json matformer_record;
  if (!matformer.empty()) {
    LITEQ_ASSIGN_OR_RETURN(model::MatformerLayout layout, model::LoadMatformerLayout(matformer));
    LITEQ_ASSIGN_OR_RETURN(model::MatformerPlan plan, model::PlanMatformer(*checkpoint, layout));
    matformer_record = plan.ToJson(layout);
    LITEQ_ASSIGN_OR_RETURN(checkpoint, model::ExtractMatformer(checkpoint, plan));
  }
  model::ExportOptions options;
  options.max_seq = max_seq;
  if (!prefill_lengths.empty()) {
    options.prefill_lengths = prefill_lengths;
  } else {  // the default prefill length, shortened to fit a small cache
    for (int& t : options.prefill_lengths) t = std::min(t, options.max_seq);
  }
  *used_options = options;
  LITEQ_ASSIGN_OR_RETURN(graph::Model model, model::BuildModel(checkpoint, options));
  if (!matformer_record.is_null()) {
    model.metadata[model::kMatformerMetadataKey] = matformer_record.dump();
  }
  return model;
}

std::string MatformerHelp() {
  std::string help =
      "gemma3n: extract a MatFormer sub-model first: a layout (JSON file or inline JSON) "
      "{\"ffn_widths\": [k0, k1, ...] or k, \"skip_layers\": [i, ...]} or a preset:";
  for (const auto& [name, description] : model::MatformerPresets()) {
    help += " " + name + " (" + description + ");";
  }
  help.back() = '.';
  return help;
}

Result<std::unique_ptr<runtime::Interpreter>> LoadReferenceInterpreter(
    const std::string& path, const std::vector<int>& prefill_lengths, int max_seq,
    const runtime::InterpreterOptions& options) {
  if (std::filesystem::path(path).extension() == ".tflite") {
    return runtime::Interpreter::Load(path, options);
  }
  model::ExportOptions used;
  auto graph = BuildFloatGraph(path, prefill_lengths, max_seq, &used);
  if (!graph.ok()) return graph.status().WithContext("reference " + path);
  auto model = std::make_shared<const graph::Model>(std::move(graph).value());
  return runtime::Interpreter::Create(std::move(model), options);
}

int32_t EosIdForModel(const graph::Model& model, const tokenizer::Tokenizer& tok) {
  if (tok.eos_id() >= 0) return tok.eos_id();
  nlohmann::json t = MetadataJson(model, model::kTokenizerMetadataKey);
  if (t.contains("eos_token_ids") && t["eos_token_ids"].is_array() && !t["eos_token_ids"].empty() &&
      t["eos_token_ids"][0].is_number_integer()) {
    return t["eos_token_ids"][0].get<int32_t>();
  }
  return -1;
}

int PhysicalCores() {
  static const int cores = [] {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::set<std::pair<std::string, std::string>> seen;
    std::string line, physical = "0";
    while (std::getline(cpuinfo, line)) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string key = line.substr(0, colon);
      while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
      const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
      if (key == "physical id") physical = value;
      if (key == "core id") seen.insert({physical, value});
    }
    if (!seen.empty()) return static_cast<int>(seen.size());
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }();
  return cores;
}

std::vector<int32_t> CalibrationSkipIds(const graph::Model& model) {
  nlohmann::json t = MetadataJson(model, model::kTokenizerMetadataKey);
  if (!t.contains("pad_token_id") || !t["pad_token_id"].is_number_integer()) return {};
  const int64_t pad = t["pad_token_id"].get<int64_t>();
  // Some checkpoints reuse BOS or EOS as the pad token; those are real positions.
  if (pad < 0 || pad > INT32_MAX) return {};
  for (const char* key : {"bos_token_id"}) {
    if (t.contains(key) && t[key].is_number_integer() && t[key].get<int64_t>() == pad) return {};
  }
  if (t.contains("eos_token_ids") && t["eos_token_ids"].is_array()) {
    for (const auto& e : t["eos_token_ids"]) {
      if (e.is_number_integer() && e.get<int64_t>() == pad) return {};
    }
  }
  return {static_cast<int32_t>(pad)};
}

}  // namespace liteq::cli
