#include "e2e_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "quant/calibration.h"
#include "tflite/writer.h"
#include "tokenizer/tokenizer.h"

namespace liteq::e2e {

std::string ModelDir(const std::string& name) { return std::string(LITEQ_MODELS_DIR) + "/" + name; }
std::string FamilyDir(const std::string& name) {
  return std::string(LITEQ_TESTDATA_DIR) + "/families/" + name;
}

namespace {

// One scratch directory per test process, removed when the process exits: ctest runs
// every test case in its own process, so leaving them behind filled /tmp with tens of GB.
// It starts empty: a killed earlier process with the same pid may have left files whose
// presence would change what a test sees (an output "not written" on error, say).
class ProcessScratchDir {
 public:
  ProcessScratchDir()
      : path_(std::filesystem::temp_directory_path() /
              ("liteq_e2e_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ProcessScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

std::string TempPath(const std::string& file_name) {
  static const ProcessScratchDir dir;
  return (dir.path() / file_name).string();
}

namespace {

std::string ExportWith(const std::string& checkpoint_path, const model::ExportOptions& options,
                       const quant::RecipeOptions* recipe) {
  static std::map<std::string, std::string> cache;
  std::string key = checkpoint_path;
  key.append("|").append(std::to_string(options.max_seq));
  for (int t : options.prefill_lengths) key.append("|").append(std::to_string(t));
  if (recipe != nullptr) {
    key.append("|").append(quant::RecipeName(recipe->recipe));
    key.append("|").append(quant::GranularityName(recipe->granularity));
    key.append("|").append(
        quant::GranularityName(recipe->embedding_granularity.value_or(recipe->granularity)));
    key.append("|").append(std::to_string(recipe->block_size)).append("|").append(recipe->observer);
    key.append("|").append(recipe->float_ops).append("|").append(recipe->float_tensors);
    key.append("|").append(recipe->kv_cache_int ? "kv8" : "kv32");
    for (const std::string& w : recipe->float_weights) key.append("|f32:").append(w);
    for (const std::string& w : recipe->float16_weights) key.append("|f16:").append(w);
    key.append(recipe->position_tables_fp16 ? "|rope16" : "|rope32");
  }
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto opened = io::Checkpoint::Open(checkpoint_path);
  LITEQ_CHECK(opened.ok());
  std::shared_ptr<const io::Checkpoint> ckpt = std::move(opened).value();
  auto model = model::BuildModel(ckpt, options);
  if (!model.ok()) {
    ADD_FAILURE() << model.status().ToString();
    return "";
  }
  quant::RecipeOptions with_ranges;
  quant::ActivationRanges ranges;
  if (recipe != nullptr && quant::NeedsCalibration(recipe->recipe) && recipe->ranges == nullptr) {
    // Calibrate on the bundled calibration text, as `liteq quantize` does by default
    // (fewer samples: tests must stay fast).
    auto tok = tokenizer::Tokenizer::Load(checkpoint_path);
    LITEQ_CHECK(tok.ok());
    auto samples = quant::LoadCalibrationSamples(std::string(LITEQ_DATA_DIR) + "/brown/calib.jsonl",
                                                 tok->get(), kTestCalibrationSamples,
                                                 options.prefill_lengths.back(), 16);
    LITEQ_CHECK(samples.ok());
    auto calibration = quant::Calibrate(std::make_shared<const graph::Model>(*model), *samples, {});
    if (!calibration.ok()) {
      ADD_FAILURE() << calibration.status().ToString();
      return "";
    }
    auto observer =
        quant::ParseObserverKind(quant::ObserverOrDefault(recipe->recipe, recipe->observer));
    LITEQ_CHECK(observer.ok());
    quant::ObserverOptions observer_options;
    observer_options.bits = recipe->recipe == quant::Recipe::kStatic16x8 ? 16 : 8;
    auto computed = quant::ComputeActivationRanges(*calibration, *observer, observer_options);
    LITEQ_CHECK(computed.ok());
    ranges = std::move(computed).value();
    with_ranges = *recipe;
    with_ranges.ranges = &ranges;
    recipe = &with_ranges;
  }
  if (recipe != nullptr) {
    auto report = quant::ApplyRecipe(*model, *recipe);
    if (!report.ok()) {
      ADD_FAILURE() << report.status().ToString();
      return "";
    }
  }
  std::string file_name = "model";
  file_name.append(std::to_string(cache.size())).append(".tflite");
  const std::string path = TempPath(file_name);
  Status written = tflite::WriteTflite(*model, path);
  if (!written.ok()) {
    ADD_FAILURE() << written.ToString();
    return "";
  }
  cache[key] = path;
  return path;
}

}  // namespace

std::string ExportOnce(const std::string& checkpoint_path, const model::ExportOptions& options) {
  return ExportWith(checkpoint_path, options, nullptr);
}

std::string ExportQuantizedOnce(const std::string& checkpoint_path,
                                const model::ExportOptions& options,
                                const quant::RecipeOptions& recipe) {
  return ExportWith(checkpoint_path, options, &recipe);
}

CommandResult RunShell(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<double> LogSoftmax(std::span<const float> row) {
  double max = -INFINITY;
  for (float v : row) max = std::max<double>(max, v);
  double sum = 0;
  for (float v : row) sum += std::exp(v - max);
  const double log_sum = std::log(sum) + max;
  std::vector<double> out(row.size());
  for (size_t i = 0; i < row.size(); ++i) out[i] = row[i] - log_sum;
  return out;
}

LoadedModel LoadTflite(const std::string& path) {
  LoadedModel m;
  auto interpreter = runtime::Interpreter::Load(path);
  LITEQ_CHECK(interpreter.ok());
  m.interpreter = std::move(interpreter).value();
  auto session = generate::Session::Create(m.interpreter.get());
  LITEQ_CHECK(session.ok());
  m.session = std::move(session).value();
  return m;
}

std::unique_ptr<io::Checkpoint> OpenReference(const std::string& dir) {
  auto ref = io::Checkpoint::Open(dir + "/reference.safetensors");
  LITEQ_CHECK(ref.ok());
  return std::move(ref).value();
}

nlohmann::json ReadReferenceJson(const std::string& dir) {
  std::ifstream in(dir + "/reference.json");
  return nlohmann::json::parse(in);
}

std::vector<float> ReadFloats(const io::Checkpoint& ref, const std::string& name) {
  auto v = ref.ReadFloat32(name);
  LITEQ_CHECK(v.ok());
  return std::move(v).value();
}

std::vector<int32_t> ReadInts(const io::Checkpoint& ref, const std::string& name) {
  auto v = ref.ReadInt32(name);
  LITEQ_CHECK(v.ok());
  return std::move(v).value();
}

std::vector<std::vector<int32_t>> ReadEvalWindows(const io::Checkpoint& ref) {
  const std::vector<int32_t> flat = ReadInts(ref, "eval.windows");
  const auto* info = ref.Find("eval.windows");
  LITEQ_CHECK(info != nullptr && info->shape.size() == 2);
  const size_t n = info->shape[0], seq = info->shape[1];
  std::vector<std::vector<int32_t>> windows(n);
  for (size_t w = 0; w < n; ++w)
    windows[w].assign(flat.begin() + w * seq, flat.begin() + (w + 1) * seq);
  return windows;
}

StoriesGreedyReference ReadStoriesGreedyReference() {
  StoriesGreedyReference ref;
  std::ifstream file(ModelDir("stories260K") + "/greedy_reference.txt");
  std::string s((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const size_t ids_at = s.find("TOKEN_IDS:"), text_at = s.find("TEXT:\n");
  if (ids_at == std::string::npos || text_at == std::string::npos) return ref;
  std::istringstream in(s.substr(ids_at + 10, s.find('\n', ids_at) - ids_at - 10));
  for (int32_t id; in >> id;) ref.ids.push_back(id);
  ref.text = s.substr(text_at + 6);
  while (!ref.text.empty() && ref.text.back() == '\n') ref.text.pop_back();
  return ref;
}

double MaxRelativeError(std::span<const float> actual, std::span<const float> expected) {
  LITEQ_CHECK(actual.size() == expected.size());
  double max_diff = 0.0, max_abs = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(actual[i]) - expected[i]));
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(expected[i])));
  }
  return max_abs > 0.0 ? max_diff / max_abs : max_diff;
}

}  // namespace liteq::e2e
