// weight_only_int4 decode with the activations quantized to int8 per group of 32
// (InterpreterOptions::int4_int8_activations, the default; kernels/weight_only_int4_q8.h)
// inside a whole model (gemma3-tiny, blocks of 32 and per channel, 1 and 2 threads):
// - the fast kernels give logits bit-identical to the scalar reference
//   (use_reference_kernels) at every decode step;
// - prefill (16-row chunks) keeps float activations: its logits equal DEQUANTIZE
//   folded to float weights exactly;
// - decode differs from the folded float model only by the activation rounding: the
//   greedy token agrees and the logits stay within kActivationRoundingTolerance of the
//   largest logit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "e2e_util.h"
#include "generate/session.h"
#include "runtime/interpreter.h"

namespace liteq {
namespace {

// Each activation moves by at most half a step of its group's scale (amax / 254),
// i.e. up to 0.4% of the group's largest value; over 6 layers the logits moved by at
// most 0.6% of the largest logit (measured, both block sizes), bounded here at 2%.
constexpr float kActivationRoundingTolerance = 2e-2f;

struct Case {
  const char* name;
  int64_t block;
  int threads;
};

class Int4Int8ActivationsTest : public ::testing::TestWithParam<Case> {};

TEST_P(Int4Int8ActivationsTest, BitExactWithReferenceAndCloseToFloat) {
  const Case c = GetParam();
  const std::string dir = std::string(LITEQ_MODELS_DIR) + "/gemma3-tiny";
  quant::RecipeOptions recipe;
  recipe.recipe = quant::Recipe::kWeightOnlyInt4;
  recipe.block_size = c.block;
  const std::string path = e2e::ExportQuantizedOnce(
      dir, model::ExportOptions{.prefill_lengths = {16}, .max_seq = 64}, recipe);
  ASSERT_FALSE(path.empty());
  // 0: fast int8 activations, 1: their scalar reference, 2: folded float weights.
  constexpr int kRuns = 3;
  std::unique_ptr<runtime::Interpreter> interpreters[kRuns];
  std::unique_ptr<generate::Session> sessions[kRuns];
  for (int i = 0; i < kRuns; ++i) {
    runtime::InterpreterOptions options;
    options.num_threads = c.threads;
    options.use_reference_kernels = i == 1;
    options.integer_weights = i != 2;
    auto interpreter = runtime::Interpreter::Load(path, options);
    ASSERT_TRUE(interpreter.ok()) << interpreter.status().ToString();
    interpreters[i] = std::move(*interpreter);
    auto session = generate::Session::Create(interpreters[i].get());
    ASSERT_TRUE(session.ok());
    sessions[i] = std::move(*session);
  }
  std::vector<int32_t> prompt;
  for (int i = 0; i < 21; ++i) prompt.push_back(2 + (i * 613) % 4000);
  std::vector<float> prefill[kRuns];
  for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(sessions[i]->Feed(prompt, &prefill[i]).ok());
  EXPECT_EQ(prefill[0], prefill[2]) << "prefill keeps float activations";
  EXPECT_EQ(prefill[0], prefill[1]);
  float worst = 0.0f;
  int same_top = 0;
  constexpr int kSteps = 12;
  for (int step = 0; step < kSteps; ++step) {
    const auto exact = sessions[2]->last_logits();
    const auto next =
        static_cast<int32_t>(std::max_element(exact.begin(), exact.end()) - exact.begin());
    for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(sessions[i]->Feed({&next, 1}).ok());
    const auto fast = sessions[0]->last_logits(), ref = sessions[1]->last_logits(),
               folded = sessions[2]->last_logits();
    ASSERT_EQ(fast.size(), ref.size());
    ASSERT_EQ(fast.size(), folded.size());
    EXPECT_EQ(std::memcmp(fast.data(), ref.data(), fast.size() * sizeof(float)), 0)
        << "decode step " << step;
    float largest = 0.0f, diff = 0.0f;
    for (size_t i = 0; i < fast.size(); ++i) {
      largest = std::max(largest, std::fabs(folded[i]));
      diff = std::max(diff, std::fabs(fast[i] - folded[i]));
    }
    ASSERT_GT(largest, 0.0f);
    EXPECT_LE(diff, kActivationRoundingTolerance * largest) << "decode step " << step;
    EXPECT_GT(diff, 0.0f) << "expected the int8 activations to move the logits";
    worst = std::max(worst, diff / largest);
    same_top += std::max_element(fast.begin(), fast.end()) ==
                fast.begin() + (std::max_element(folded.begin(), folded.end()) - folded.begin());
  }
  EXPECT_GE(same_top, kSteps - 1) << "greedy tokens of the int8 and float activations";
  RecordProperty("worst_relative_decode_difference", std::to_string(worst));
  std::printf("[ %s ] worst decode logit difference %.2e of the largest, same top-1 %d/%d\n",
              c.name, worst, same_top, kSteps);
}

INSTANTIATE_TEST_SUITE_P(Int4, Int4Int8ActivationsTest,
                         ::testing::Values(Case{"block32", 32, 1}, Case{"channel_2_threads", 0, 2},
                                           Case{"block128_2_threads", 128, 2}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace liteq
