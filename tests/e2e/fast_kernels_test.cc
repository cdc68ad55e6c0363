// The fast integer kernels (FULLY_CONNECTED int8/hybrid, BATCH_MATMUL int8) inside a
// whole quantized model: gemma3-tiny exported with static_int8 and dynamic_int8 gives
// bit-identical logits with InterpreterOptions::use_reference_kernels (the scalar
// references) and with the fast kernels on 1 and 2 threads, through prefill chunks and
// decode steps.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "e2e_util.h"

namespace liteq::e2e {
namespace {

std::vector<float> RunLogits(const std::string& path, runtime::InterpreterOptions options,
                             const std::vector<int32_t>& tokens) {
  auto interpreter = runtime::Interpreter::Load(path, options);
  EXPECT_TRUE(interpreter.ok()) << interpreter.status().ToString();
  if (!interpreter.ok()) return {};
  auto session = generate::Session::Create(interpreter->get());
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return {};
  std::vector<float> logits;
  // One prefill chunk (32) plus a partial chunk, then single decode steps.
  const Status prefill = (*session)->Feed(std::span(tokens).first(40), &logits);
  EXPECT_TRUE(prefill.ok()) << prefill.ToString();
  for (size_t i = 40; i < tokens.size(); ++i) {
    const Status step = (*session)->Feed(std::span(tokens).subspan(i, 1), &logits);
    EXPECT_TRUE(step.ok()) << step.ToString();
  }
  return logits;
}

TEST(FastKernelsModelTest, QuantizedLogitsIdenticalToReferenceKernels) {
  const std::string dir = ModelDir("gemma3-tiny");
  auto ref = OpenReference(dir);
  std::vector<int32_t> tokens = ReadEvalWindows(*ref).at(0);
  tokens.resize(46);
  const model::ExportOptions export_options{.prefill_lengths = {32}, .max_seq = 128};
  for (quant::Recipe recipe : {quant::Recipe::kStaticInt8, quant::Recipe::kDynamicInt8}) {
    const std::string path = ExportQuantizedOnce(dir, export_options, {.recipe = recipe});
    ASSERT_FALSE(path.empty());
    SCOPED_TRACE(path);
    runtime::InterpreterOptions reference_options;
    reference_options.use_reference_kernels = true;
    const std::vector<float> expected = RunLogits(path, reference_options, tokens);
    ASSERT_FALSE(expected.empty());
    for (int threads : {1, 2}) {
      SCOPED_TRACE("threads " + std::to_string(threads));
      runtime::InterpreterOptions fast_options;
      fast_options.num_threads = threads;
      const std::vector<float> actual = RunLogits(path, fast_options, tokens);
      ASSERT_EQ(actual.size(), expected.size());
      EXPECT_EQ(std::memcmp(actual.data(), expected.data(), actual.size() * sizeof(float)), 0);
    }
  }
}

}  // namespace
}  // namespace liteq::e2e
