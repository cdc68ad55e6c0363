// Shared helpers of the end-to-end tests: export a bundled checkpoint to a temporary
// .tflite, load it back with liteq's runtime, read the transformers references.
#ifndef LITEQ_TESTS_E2E_E2E_UTIL_H_
#define LITEQ_TESTS_E2E_E2E_UTIL_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "generate/session.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "quant/recipe.h"
#include "runtime/interpreter.h"

namespace liteq::e2e {

std::string ModelDir(const std::string& name);   // models/<name>
std::string FamilyDir(const std::string& name);  // testdata/families/<name>
std::string TempPath(const std::string& file_name);

// A shell command's exit code and its stdout (add "2>&1" to the command for stderr).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunShell(const std::string& command);

// log-softmax of one row of logits, in double.
std::vector<double> LogSoftmax(std::span<const float> row);

// Exports `checkpoint_path` to a temporary .tflite (written once per test binary and
// options) and returns its path.
std::string ExportOnce(const std::string& checkpoint_path, const model::ExportOptions& options);
// The same with a quantization recipe applied before writing.
// Static recipes without `ranges` are calibrated on data/brown/calib.jsonl with this
// many samples and recipe.observer (empty: quant::DefaultObserver of the recipe).
inline constexpr int kTestCalibrationSamples = 32;
std::string ExportQuantizedOnce(const std::string& checkpoint_path,
                                const model::ExportOptions& options,
                                const quant::RecipeOptions& recipe);

struct LoadedModel {
  std::unique_ptr<runtime::Interpreter> interpreter;
  std::unique_ptr<generate::Session> session;
};
LoadedModel LoadTflite(const std::string& path);

// reference.safetensors / reference.json of a model or family directory.
std::unique_ptr<io::Checkpoint> OpenReference(const std::string& dir);
nlohmann::json ReadReferenceJson(const std::string& dir);
std::vector<float> ReadFloats(const io::Checkpoint& ref, const std::string& name);
std::vector<int32_t> ReadInts(const io::Checkpoint& ref, const std::string& name);

// `eval.windows` of a reference.safetensors as one vector per window.
std::vector<std::vector<int32_t>> ReadEvalWindows(const io::Checkpoint& ref);

// models/stories260K/greedy_reference.txt: llama2.c's 200 greedy ids from BOS and their
// text (trailing newline removed). Empty on a malformed file (the test then fails).
struct StoriesGreedyReference {
  std::vector<int32_t> ids;
  std::string text;
};
StoriesGreedyReference ReadStoriesGreedyReference();

// max |a - b| / max |b|: the relative error measure of the oracles.
double MaxRelativeError(std::span<const float> actual, std::span<const float> expected);

}  // namespace liteq::e2e

#endif  // LITEQ_TESTS_E2E_E2E_UTIL_H_
