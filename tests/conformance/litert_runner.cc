#include "litert_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

extern char** environ;

namespace liteq::conformance {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

#ifndef LITEQ_CONFORMANCE_DIR
#error "LITEQ_CONFORMANCE_DIR must point at tests/conformance"
#endif

const fs::path kConformanceDir = LITEQ_CONFORMANCE_DIR;

std::string NodeExecutable() {
  const char* node = std::getenv("LITEQ_NODE");
  return node != nullptr && node[0] != '\0' ? node : "node";
}

// Bytes per element of the dtypes the LiteRT.js API handles; 0 for any other.
size_t ElementSize(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "uint8") return 1;
  return 0;
}

// The byte size `shape` and `dtype` imply, or an error naming `what`.
Result<size_t> ExpectedBytes(const std::string& what, const std::string& dtype,
                             const std::vector<int>& shape) {
  size_t size = ElementSize(dtype);
  if (size == 0) {
    return InvalidArgumentError(what + ": dtype '" + dtype +
                                "' is not float32, int32 or uint8 (the LiteRT.js tensor types)");
  }
  for (int d : shape) {
    if (d < 0) return InvalidArgumentError(what + ": negative dimension in shape");
    if (d != 0 && size > (size_t{1} << 40) / static_cast<size_t>(d)) {
      return InvalidArgumentError(what + ": shape is too large");
    }
    size *= static_cast<size_t>(d);
  }
  return size;
}

// A fresh directory for one run's files; removed by the destructor unless the
// LITEQ_KEEP_LITERT_TMP environment variable is set (for debugging).
class TempDir {
 public:
  static Result<TempDir> Create() {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string pattern = (base / "liteq-litert-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return IoError("cannot create a temp dir from " + pattern + ": " + std::strerror(errno));
    }
    return TempDir(pattern);
  }
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    if (path_.empty() || std::getenv("LITEQ_KEEP_LITERT_TMP") != nullptr) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

Status WriteBytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return IoError("cannot write " + path.string());
  return Status::Ok();
}

Result<std::vector<uint8_t>> ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path.string());
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) return IoError("cannot read " + path.string());
  return bytes;
}

// Runs argv with stdout and stderr appended to `log`; returns the exit status, or
// -1 if the process did not exit normally.
Result<int> RunProcess(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log_path = log.string();
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return IoError("cannot start '" + argv[0] + "': " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return IoError(std::string("waitpid failed: ") + std::strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The lines of node's log that explain a failure: LiteRT's start-up chatter (INFO
// lines, the NPU warning) is dropped and the result is cut to its last few KB.
std::string FailureLog(const fs::path& log) {
  std::ifstream in(log);
  std::string line;
  std::string kept;
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind("INFO:", 0) == 0 ||
        line.find("NPU accelerator could not be loaded") != std::string::npos) {
      continue;
    }
    kept += line + "\n";
  }
  constexpr size_t kMax = 4000;
  if (kept.size() > kMax) kept = "..." + kept.substr(kept.size() - kMax);
  return kept;
}

Result<json> StepsJson(const std::vector<LiteRtStep>& steps, const fs::path& dir) {
  json out = json::array();
  for (size_t k = 0; k < steps.size(); ++k) {
    json inputs = json::array();
    for (size_t i = 0; i < steps[k].inputs.size(); ++i) {
      const LiteRtTensor& t = steps[k].inputs[i];
      const std::string what = "step " + std::to_string(k) + " input '" + t.name + "'";
      LITEQ_ASSIGN_OR_RETURN(size_t expected, ExpectedBytes(what, t.dtype, t.shape));
      if (t.bytes.size() != expected) {
        return InvalidArgumentError(what + ": has " + std::to_string(t.bytes.size()) +
                                    " bytes, its shape and dtype need " + std::to_string(expected));
      }
      // File names from indices: tensor names may hold any character.
      const std::string file = "step" + std::to_string(k) + "_in" + std::to_string(i) + ".bin";
      LITEQ_RETURN_IF_ERROR(WriteBytes(dir / file, t.bytes));
      inputs.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"file", file}});
    }
    out.push_back({{"signature", steps[k].signature}, {"inputs", inputs}});
  }
  return json{{"steps", out}};
}

// Reads DIR/outputs.json (written by litert_run.mjs) and the tensors it lists.
Result<std::vector<LiteRtTensor>> ReadStepOutputs(const fs::path& dir) {
  const fs::path index = dir / "outputs.json";
  LITEQ_ASSIGN_OR_RETURN(std::vector<uint8_t> text, ReadBytes(index));
  std::vector<LiteRtTensor> outputs;
  try {
    const json j = json::parse(text.begin(), text.end());
    for (const json& e : j.at("outputs")) {
      LiteRtTensor t;
      t.name = e.at("name").get<std::string>();
      t.dtype = e.at("dtype").get<std::string>();
      t.shape = e.at("shape").get<std::vector<int>>();
      const std::string file = e.at("file").get<std::string>();
      if (file.find('/') != std::string::npos || file.rfind("..", 0) == 0) {
        return DataLossError(index.string() + ": bad file name '" + file + "'");
      }
      const std::string what = index.string() + ": output '" + t.name + "'";
      LITEQ_ASSIGN_OR_RETURN(size_t expected, ExpectedBytes(what, t.dtype, t.shape));
      LITEQ_ASSIGN_OR_RETURN(t.bytes, ReadBytes(dir / file));
      if (t.bytes.size() != expected) {
        return DataLossError(what + ": file has " + std::to_string(t.bytes.size()) +
                             " bytes, expected " + std::to_string(expected));
      }
      outputs.push_back(std::move(t));
    }
  } catch (const json::exception& e) {
    return DataLossError(index.string() + ": " + e.what());
  }
  return outputs;
}

}  // namespace

Result<std::vector<std::vector<LiteRtTensor>>> RunInLiteRt(const std::string& tflite_path,
                                                           const std::vector<LiteRtStep>& steps) {
  if (steps.empty()) return InvalidArgumentError("RunInLiteRt: no steps");
  if (!LiteRtAvailable()) {
    return FailedPreconditionError("LiteRT is not available: " + LiteRtUnavailableReason());
  }
  std::error_code ec;
  const fs::path model = fs::absolute(tflite_path, ec);
  if (ec || !fs::is_regular_file(model, ec)) return NotFoundError("no model file " + tflite_path);

  LITEQ_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create());
  LITEQ_ASSIGN_OR_RETURN(json steps_json, StepsJson(steps, tmp.path()));
  {
    std::ofstream out(tmp.path() / "steps.json");
    out << steps_json.dump();
    if (!out) return IoError("cannot write " + (tmp.path() / "steps.json").string());
  }
  const fs::path out_dir = tmp.path() / "out";
  const fs::path log = tmp.path() / "node.log";
  LITEQ_ASSIGN_OR_RETURN(
      int exit_code, RunProcess({NodeExecutable(), (kConformanceDir / "litert_run.mjs").string(),
                                 "--model", model.string(), "--steps",
                                 (tmp.path() / "steps.json").string(), "--out", out_dir.string()},
                                log));
  if (exit_code != 0) {
    return InternalError("LiteRT run of " + tflite_path + " failed (exit " +
                         std::to_string(exit_code) + "):\n" + FailureLog(log));
  }
  std::vector<std::vector<LiteRtTensor>> results;
  for (size_t k = 0; k < steps.size(); ++k) {
    LITEQ_ASSIGN_OR_RETURN(std::vector<LiteRtTensor> outputs,
                           ReadStepOutputs(out_dir / ("step" + std::to_string(k))));
    results.push_back(std::move(outputs));
  }
  return results;
}

Result<LiteRtEval> EvalInLiteRt(
    const std::string& tflite_path, const std::vector<std::vector<int32_t>>& windows,
    const std::function<Status(size_t, const std::vector<float>&)>& on_window) {
  if (windows.empty() || windows[0].empty())
    return InvalidArgumentError("EvalInLiteRt: no windows");
  if (!LiteRtAvailable()) {
    return FailedPreconditionError("LiteRT is not available: " + LiteRtUnavailableReason());
  }
  std::error_code ec;
  const fs::path model = fs::absolute(tflite_path, ec);
  if (ec || !fs::is_regular_file(model, ec)) return NotFoundError("no model file " + tflite_path);
  const size_t length = windows[0].size();
  std::vector<uint8_t> ids;
  for (const auto& w : windows) {
    if (w.size() != length) return InvalidArgumentError("EvalInLiteRt: windows differ in length");
    const auto* p = reinterpret_cast<const uint8_t*>(w.data());
    ids.insert(ids.end(), p, p + w.size() * sizeof(int32_t));
  }
  LITEQ_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create());
  LITEQ_RETURN_IF_ERROR(WriteBytes(tmp.path() / "windows.bin", ids));
  const fs::path out_dir = tmp.path() / "out";
  const fs::path log = tmp.path() / "node.log";
  LITEQ_ASSIGN_OR_RETURN(
      int exit_code,
      RunProcess({NodeExecutable(), (kConformanceDir / "litert_run.mjs").string(), "--model",
                  model.string(), "--eval-windows", (tmp.path() / "windows.bin").string(),
                  "--window-length", std::to_string(length), "--out", out_dir.string()},
                 log));
  if (exit_code != 0) {
    return InternalError("LiteRT eval of " + tflite_path + " failed (exit " +
                         std::to_string(exit_code) + "):\n" + FailureLog(log));
  }
  LiteRtEval result;
  LITEQ_ASSIGN_OR_RETURN(std::vector<uint8_t> text, ReadBytes(out_dir / "eval.json"));
  try {
    const json j = json::parse(text.begin(), text.end());
    result.nll_per_window = j.at("nll_per_window").get<std::vector<double>>();
  } catch (const json::exception& e) {
    return DataLossError((out_dir / "eval.json").string() + ": " + e.what());
  }
  if (result.nll_per_window.size() != windows.size()) {
    return DataLossError("LiteRT eval returned " + std::to_string(result.nll_per_window.size()) +
                         " windows, expected " + std::to_string(windows.size()));
  }
  if (on_window) {
    for (size_t w = 0; w < windows.size(); ++w) {
      const fs::path file = out_dir / ("window" + std::to_string(w) + ".bin");
      LITEQ_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadBytes(file));
      if (bytes.size() % (length * sizeof(float)) != 0) {
        return DataLossError(file.string() + ": not float32 [" + std::to_string(length) +
                             ", vocab]");
      }
      std::vector<float> logits(bytes.size() / sizeof(float));
      std::memcpy(logits.data(), bytes.data(), bytes.size());
      fs::remove(file, ec);
      LITEQ_RETURN_IF_ERROR(on_window(w, logits));
    }
  }
  return result;
}

std::string LiteRtUnavailableReason() {
  // Computed once: node's start-up costs ~50 ms and the answer does not change.
  static const std::string reason = [] {
    const fs::path package = kConformanceDir / "node_modules/@litertjs/core/package.json";
    std::error_code ec;
    if (!fs::exists(package, ec)) {
      return "npm package @litertjs/core not installed: run 'npm ci' in " +
             kConformanceDir.string();
    }
    Result<TempDir> tmp = TempDir::Create();
    if (!tmp.ok()) return tmp.status().ToString();
    Result<int> rc = RunProcess({NodeExecutable(), "--version"}, tmp->path() / "log");
    if (!rc.ok()) return rc.status().ToString();
    if (*rc != 0) return "'" + NodeExecutable() + " --version' failed";
    return std::string();
  }();
  return reason;
}

bool LiteRtAvailable() { return LiteRtUnavailableReason().empty(); }

bool RunningInCi() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr || ci[0] == '\0') return false;
  const std::string value = ci;
  return value != "false" && value != "0";
}

LiteRtTensor MakeFloat32Tensor(std::string name, std::vector<int> shape,
                               const std::vector<float>& values) {
  LiteRtTensor t{std::move(name), "float32", std::move(shape), {}};
  t.bytes.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

LiteRtTensor MakeInt32Tensor(std::string name, std::vector<int> shape,
                             const std::vector<int32_t>& values) {
  LiteRtTensor t{std::move(name), "int32", std::move(shape), {}};
  t.bytes.resize(values.size() * sizeof(int32_t));
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

std::vector<float> Float32Values(const LiteRtTensor& tensor) {
  LITEQ_CHECK(tensor.dtype == "float32" && tensor.bytes.size() % sizeof(float) == 0);
  std::vector<float> values(tensor.bytes.size() / sizeof(float));
  if (!values.empty()) std::memcpy(values.data(), tensor.bytes.data(), tensor.bytes.size());
  return values;
}

std::vector<int32_t> Int32Values(const LiteRtTensor& tensor) {
  LITEQ_CHECK(tensor.dtype == "int32" && tensor.bytes.size() % sizeof(int32_t) == 0);
  std::vector<int32_t> values(tensor.bytes.size() / sizeof(int32_t));
  if (!values.empty()) std::memcpy(values.data(), tensor.bytes.data(), tensor.bytes.size());
  return values;
}

const LiteRtTensor* FindTensor(const std::vector<LiteRtTensor>& tensors, const std::string& name) {
  for (const LiteRtTensor& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace liteq::conformance
