// Runs a .tflite file in the official LiteRT runtime (npm @litertjs/core, LiteRT
// compiled to WebAssembly with XNNPACK) from C++ tests, so liteq's runtime outputs
// can be compared with LiteRT's. It drives tests/conformance/litert_run.mjs in a
// `node` child process through temporary files.
//
// Needs `node` (>= 20) on PATH (or the LITEQ_NODE environment variable) and
// `npm ci` run in tests/conformance (scripts/install-deps.sh --with-npm does it).
#ifndef LITEQ_TESTS_CONFORMANCE_LITERT_RUNNER_H_
#define LITEQ_TESTS_CONFORMANCE_LITERT_RUNNER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "liteq/status.h"

namespace liteq::conformance {

// One signature input or output. dtype is "float32", "int32" or "uint8" (the
// element types the LiteRT.js API handles); bytes are little-endian, row-major.
struct LiteRtTensor {
  std::string name;
  std::string dtype;
  std::vector<int> shape;
  std::vector<uint8_t> bytes;
};

// One invocation of a signature. An input of the signature that `inputs` does not
// give is taken from the most recent earlier step's output of the same name: this
// is how the KV cache outputs (`kv_cache_k_0`, ...) of a prefill feed the decode
// steps that follow.
struct LiteRtStep {
  std::string signature;
  std::vector<LiteRtTensor> inputs;
};

// Loads `tflite_path` once in one node process, runs `steps` in order and returns
// each step's outputs in the signature's output order. Errors carry LiteRT's own
// message (e.g. "Didn't find op for builtin opcode ...").
Result<std::vector<std::vector<LiteRtTensor>>> RunInLiteRt(const std::string& tflite_path,
                                                           const std::vector<LiteRtStep>& steps);

// Perplexity windows through the official runtime: every window (token ids, all the
// same length, a multiple of the 'prefill' signature's length) is fed from position 0
// through 'prefill' in chunks. `on_window(i, logits)` gets each window's logits
// [length, vocab] as they are read back (one window in memory at a time).
struct LiteRtEval {
  std::vector<double> nll_per_window;  // mean next-token NLL, computed by the node script
};
Result<LiteRtEval> EvalInLiteRt(
    const std::string& tflite_path, const std::vector<std::vector<int32_t>>& windows,
    const std::function<Status(size_t, const std::vector<float>&)>& on_window = {});

// True if node runs and the npm package is installed in tests/conformance.
bool LiteRtAvailable();
// Why LiteRtAvailable() is false (empty when it is true).
std::string LiteRtUnavailableReason();

// True when the CI environment variable is set to a non-empty value other than
// "false"/"0": tests that need LiteRT must then fail instead of skipping.
bool RunningInCi();

LiteRtTensor MakeFloat32Tensor(std::string name, std::vector<int> shape,
                               const std::vector<float>& values);
LiteRtTensor MakeInt32Tensor(std::string name, std::vector<int> shape,
                             const std::vector<int32_t>& values);
// The elements of a float32 / int32 tensor (the dtype must match, checked).
std::vector<float> Float32Values(const LiteRtTensor& tensor);
std::vector<int32_t> Int32Values(const LiteRtTensor& tensor);
// The output called `name`, or nullptr.
const LiteRtTensor* FindTensor(const std::vector<LiteRtTensor>& tensors, const std::string& name);

}  // namespace liteq::conformance

// Use at the top of a gtest that needs LiteRT: skips the test when LiteRT is not
// installed, except in CI (CI=true), where the test fails so a broken setup is seen.
#define LITEQ_REQUIRE_LITERT()                                                                     \
  do {                                                                                             \
    if (!::liteq::conformance::LiteRtAvailable()) {                                                \
      if (::liteq::conformance::RunningInCi()) {                                                   \
        FAIL() << "LiteRT is required in CI: " << ::liteq::conformance::LiteRtUnavailableReason(); \
      }                                                                                            \
      GTEST_SKIP() << "LiteRT not available (" << ::liteq::conformance::LiteRtUnavailableReason()  \
                   << "); run scripts/install-deps.sh --with-npm";                                 \
    }                                                                                              \
  } while (0)

#endif  // LITEQ_TESTS_CONFORMANCE_LITERT_RUNNER_H_
