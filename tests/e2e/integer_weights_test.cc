// Weight-only models run with FULLY_CONNECTED reading the int8/int4 constants directly
// (runtime/weight_only_fusion.h) must give the logits of DEQUANTIZE folded to float
// weights then the float kernel. Prefill dequantizes chunks of weight rows to the same
// floats and runs the same float GEMM, so its logits are identical. Decode converts
// the weights in registers and applies each block's scale to the block's sum
// (kernels/weight_only_dot.h): a different rounding order, so its logits agree within
// kDecodeLogitTolerance of the largest logit. The MLP's up projection and its product
// with act(gate) run as one kernel in both (the same floats as the two ops,
// tests/runtime/fc_product_fusion_test.cc). (int4 decode runs here with float
// activations, InterpreterOptions::int4_int8_activations off; the default int8
// activation path is int4_int8_activations_test.cc.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "e2e_util.h"
#include "generate/session.h"
#include "runtime/interpreter.h"

namespace liteq {
namespace {

// Per-FC differences (runtime::kWeightOnlyDotRelativeTolerance of the products'
// magnitude) compounded over the layers and the norms between them; measured
// differences are about 1e-6 of the largest logit (gemma3-tiny, AVX2).
constexpr float kDecodeLogitTolerance = 2e-5f;

struct Case {
  const char* name;
  int bits;
  int64_t block;
  int threads;
};

class IntegerWeightsTest : public ::testing::TestWithParam<Case> {};

TEST_P(IntegerWeightsTest, SameLogitsAsFoldedDequantize) {
  const Case c = GetParam();
  const std::string dir = std::string(LITEQ_MODELS_DIR) + "/gemma3-tiny";
  quant::RecipeOptions recipe;
  recipe.recipe = c.bits == 4 ? quant::Recipe::kWeightOnlyInt4 : quant::Recipe::kWeightOnlyInt8;
  recipe.block_size = c.block;
  const std::string path = e2e::ExportQuantizedOnce(
      dir, model::ExportOptions{.prefill_lengths = {16}, .max_seq = 64}, recipe);
  ASSERT_FALSE(path.empty());
  std::unique_ptr<runtime::Interpreter> interpreters[2];
  std::unique_ptr<generate::Session> sessions[2];
  for (int direct = 0; direct < 2; ++direct) {
    runtime::InterpreterOptions options;
    options.num_threads = c.threads;
    options.integer_weights = direct == 1;
    options.int4_int8_activations = false;
    auto interpreter = runtime::Interpreter::Load(path, options);
    ASSERT_TRUE(interpreter.ok()) << interpreter.status().ToString();
    interpreters[direct] = std::move(*interpreter);
    auto runner = interpreters[direct]->GetSignature("decode");
    ASSERT_TRUE(runner.ok());
    // Every linear layer (7 per layer, 6 layers) and the tied lm head; each layer's up
    // projection runs with the MUL by act(gate) that reads it (PlanFcProductFusion).
    auto prefill = interpreters[direct]->GetSignature("prefill");
    ASSERT_TRUE(prefill.ok());
    for (runtime::SignatureRunner* r : {*runner, *prefill}) {
      EXPECT_EQ(r->plan_report().integer_weight_fcs, direct ? 6 * 7 + 1 : 0);
      EXPECT_EQ(r->plan_report().fused_fc_products, direct ? 6 : 0);
    }
    auto session = generate::Session::Create(interpreters[direct].get());
    ASSERT_TRUE(session.ok());
    sessions[direct] = std::move(*session);
  }
  std::vector<int32_t> prompt;
  for (int i = 0; i < 21; ++i) prompt.push_back(2 + (i * 811) % 4000);
  std::vector<float> all[2];
  for (int d = 0; d < 2; ++d) ASSERT_TRUE(sessions[d]->Feed(prompt, &all[d]).ok());
  EXPECT_EQ(all[0], all[1]) << "prefill";
  float worst = 0.0f;  // largest relative difference over the decode steps
  for (int step = 0; step < 12; ++step) {
    const auto last = sessions[0]->last_logits();
    const auto next =
        static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    for (int d = 0; d < 2; ++d) ASSERT_TRUE(sessions[d]->Feed({&next, 1}).ok());
    const auto a = sessions[0]->last_logits(), b = sessions[1]->last_logits();
    ASSERT_EQ(a.size(), b.size());
    float largest = 0.0f, diff = 0.0f;
    for (size_t i = 0; i < a.size(); ++i) {
      largest = std::max(largest, std::fabs(a[i]));
      diff = std::max(diff, std::fabs(a[i] - b[i]));
    }
    ASSERT_GT(largest, 0.0f);
    EXPECT_LE(diff, kDecodeLogitTolerance * largest) << "decode step " << step;
    worst = std::max(worst, diff / largest);
  }
  RecordProperty("worst_relative_decode_difference", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, IntegerWeightsTest,
    ::testing::Values(Case{"int8_channel", 8, 0, 1}, Case{"int8_channel_2_threads", 8, 0, 2},
                      Case{"int4_channel", 4, 0, 1}, Case{"int4_block32", 4, 32, 2}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

}  // namespace
}  // namespace liteq
