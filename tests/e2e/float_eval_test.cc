// The float export through the .tflite file and liteq's runtime reproduces the
// transformers eval perplexity (64 windows of 256 tokens, each from position 0).
// Windows are longer than the prefill length, so chunked prefill is exercised too.
#include <gtest/gtest.h>

#include <cmath>

#include "e2e_util.h"
#include "eval/perplexity.h"

namespace liteq::e2e {
namespace {

class FloatEvalTest : public ::testing::TestWithParam<const char*> {};

TEST_P(FloatEvalTest, PerplexityMatchesTransformers) {
  const std::string dir = ModelDir(GetParam());
  auto ref = OpenReference(dir);
  const nlohmann::json ref_json = ReadReferenceJson(dir);
  const std::vector<std::vector<int32_t>> windows = ReadEvalWindows(*ref);
  const size_t n = windows.size();

  LoadedModel m = LoadTflite(ExportOnce(dir, {.prefill_lengths = {128}, .max_seq = 512}));
  auto result = eval::EvaluatePerplexity(*m.session, windows);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::vector<float> expected_nll = ReadFloats(*ref, "eval.nll_per_window");
  ASSERT_EQ(expected_nll.size(), n);
  for (size_t w = 0; w < n; ++w) {
    EXPECT_NEAR(result->window_nll[w], expected_nll[w], 1e-4) << "window " << w;
  }
  const double expected_ppl = ref_json["eval_ppl"].get<double>();
  EXPECT_NEAR(result->perplexity / expected_ppl - 1.0, 0.0, 1e-4)
      << "liteq " << result->perplexity << " vs transformers " << expected_ppl;
  std::printf("[ %s ] eval perplexity %.4f (transformers %.4f), %.1f s\n", GetParam(),
              result->perplexity, expected_ppl, result->seconds);
}

INSTANTIATE_TEST_SUITE_P(TrainedModels, FloatEvalTest, ::testing::Values("gemma3-tiny", "llama-tiny"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) if (c == '-') c = '_';
                           return s;
                         });

}  // namespace
}  // namespace liteq::e2e
