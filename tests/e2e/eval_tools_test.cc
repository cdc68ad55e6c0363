// `liteq eval --reference` and `liteq inspect` on real exports of llama-tiny: a model
// compared with itself diverges by exactly nothing, the weight-only int8 model by a
// little, the perplexities agree with the plain evaluation and with transformers, the
// free-running comparison follows each model's own greedy output, and the inspect diff
// of the two files accounts for every quantized weight.
#include <gtest/gtest.h>

#include <cmath>

#include "e2e_util.h"
#include "eval/model_comparison.h"
#include "eval/perplexity.h"
#include "eval/tflite_diff.h"
#include "eval/tflite_summary.h"
#include "tflite/reader.h"

namespace liteq::e2e {
namespace {

const model::ExportOptions kOptions{.prefill_lengths = {128}, .max_seq = 256};
constexpr size_t kWindows = 2;

std::string FloatFile(const std::string& name = "llama-tiny") {
  return ExportOnce(ModelDir(name), kOptions);
}
std::string Int8File() { return ExportQuantizedOnce(ModelDir("llama-tiny"), kOptions, {}); }

std::vector<std::vector<int32_t>> Windows() {
  auto windows = ReadEvalWindows(*OpenReference(ModelDir("llama-tiny")));
  windows.resize(kWindows);
  return windows;
}

// The first 16 tokens of each window as prompts.
std::vector<std::vector<int32_t>> Prompts() {
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& w : Windows()) prompts.emplace_back(w.begin(), w.begin() + 16);
  return prompts;
}

double RelativeDifference(double a, double b) { return std::fabs(a - b) / std::fabs(b); }

TEST(EvalToolsTest, AModelComparedWithItselfHasZeroDivergence) {
  LoadedModel reference = LoadTflite(FloatFile());
  LoadedModel same = LoadTflite(FloatFile());
  auto compared = eval::CompareOnWindows(*reference.session, *same.session, Windows());
  ASSERT_TRUE(compared.ok()) << compared.status().ToString();
  const eval::KlDivergenceStats& s = compared->stats;
  EXPECT_EQ(s.tokens, static_cast<int64_t>(kWindows * 255));
  EXPECT_EQ(s.kl.max, 0.0);
  EXPECT_EQ(s.kl.min, 0.0);
  EXPECT_EQ(s.kl.mean.value, 0.0);
  EXPECT_EQ(s.same_top.value, 1.0);
  EXPECT_EQ(s.ppl_ratio.value, 1.0);
  EXPECT_EQ(s.delta_p_rms.value, 0.0);
  // The perplexity is the one transformers computed on these windows.
  const auto expected_nll =
      ReadFloats(*OpenReference(ModelDir("llama-tiny")), "eval.nll_per_window");
  const double expected_ppl = std::exp((expected_nll[0] + expected_nll[1]) / 2.0);
  EXPECT_LT(RelativeDifference(s.ppl_reference.value, expected_ppl), 1e-5);

  auto greedy = eval::CompareGreedy(*reference.session, *same.session, Prompts(), 16);
  ASSERT_TRUE(greedy.ok()) << greedy.status().ToString();
  EXPECT_EQ(greedy->identical_prompts, static_cast<int>(kWindows));
  EXPECT_EQ(greedy->agreeing_prefix_fraction, 1.0);
  for (const auto& d : greedy->prompts) EXPECT_EQ(d.first_divergence, -1);
}

TEST(EvalToolsTest, WeightOnlyInt8DivergesSlightlyAndMatchesThePlainEvaluation) {
  LoadedModel reference = LoadTflite(FloatFile());
  LoadedModel quantized = LoadTflite(Int8File());
  const auto windows = Windows();
  auto compared = eval::CompareOnWindows(*reference.session, *quantized.session, windows);
  ASSERT_TRUE(compared.ok()) << compared.status().ToString();
  const eval::KlDivergenceStats& s = compared->stats;
  EXPECT_GT(s.kl.mean.value, 0.0);
  EXPECT_LT(s.kl.mean.value, 1e-2);  // int8 per-channel weights barely move the distribution
  EXPECT_LE(s.kl.median, s.kl.p99);
  EXPECT_LE(s.kl.p99, s.kl.max);
  EXPECT_GE(s.kl.min, 0.0);
  EXPECT_GT(s.same_top.value, 0.9);
  EXPECT_LT(s.kl.mean.ci95_low, s.kl.mean.value);
  EXPECT_GT(s.kl.mean.ci95_high, s.kl.mean.value);
  // Both perplexities equal what EvaluatePerplexity computes on each model alone.
  auto ref_ppl = eval::EvaluatePerplexity(*reference.session, windows);
  auto q_ppl = eval::EvaluatePerplexity(*quantized.session, windows);
  ASSERT_TRUE(ref_ppl.ok() && q_ppl.ok());
  EXPECT_LT(RelativeDifference(s.ppl_reference.value, ref_ppl->perplexity), 1e-12);
  EXPECT_LT(RelativeDifference(s.ppl_quantized.value, q_ppl->perplexity), 1e-12);
  EXPECT_NEAR(s.ppl_delta_percent, 100.0 * (q_ppl->perplexity / ref_ppl->perplexity - 1.0), 1e-9);
}

TEST(EvalToolsTest, FreeRunningComparisonFollowsEachModelsOwnGreedyOutput) {
  // Two different models with the same vocabulary size certainly diverge.
  LoadedModel llama = LoadTflite(FloatFile("llama-tiny"));
  LoadedModel gemma = LoadTflite(FloatFile("gemma3-tiny"));
  const auto prompts = Prompts();
  auto greedy = eval::CompareGreedy(*llama.session, *gemma.session, prompts, 12);
  ASSERT_TRUE(greedy.ok()) << greedy.status().ToString();
  ASSERT_EQ(greedy->prompts.size(), prompts.size());
  for (size_t p = 0; p < prompts.size(); ++p) {
    const eval::GreedyDivergence& d = greedy->prompts[p];
    for (auto [session, ids] : {std::pair{llama.session.get(), &d.reference_ids},
                                std::pair{gemma.session.get(), &d.quantized_ids}}) {
      session->Reset();
      auto alone = generate::Generate(*session, prompts[p], {.max_new_tokens = 12});
      ASSERT_TRUE(alone.ok());
      EXPECT_EQ(*alone, *ids) << "prompt " << p;
    }
    ASSERT_GE(d.first_divergence, 0) << "prompt " << p;
    for (int i = 0; i < d.first_divergence; ++i) EXPECT_EQ(d.reference_ids[i], d.quantized_ids[i]);
    EXPECT_NE(d.reference_ids[d.first_divergence], d.quantized_ids[d.first_divergence]);
    EXPECT_GE(d.reference_margin, 0.0);
  }
  EXPECT_EQ(greedy->identical_prompts, 0);
}

TEST(EvalToolsTest, MismatchedVocabulariesAndTooLongPromptsAreErrors) {
  LoadedModel llama = LoadTflite(FloatFile());
  LoadedModel stories = LoadTflite(ExportOnce(ModelDir("stories260K") + "/stories260K.bin",
                                              {.prefill_lengths = {32}, .max_seq = 64}));
  auto mismatched = eval::CompareOnWindows(*llama.session, *stories.session, Windows());
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("vocabularies differ"), std::string::npos);
  auto too_long = eval::CompareGreedy(*llama.session, *llama.session, Prompts(), 250);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("max_seq"), std::string::npos);
}

TEST(InspectTest, DiffOfFloatAndWeightOnlyInt8AccountsForEveryWeight) {
  auto float_model = tflite::ReadTflite(FloatFile());
  auto int8_model = tflite::ReadTflite(Int8File());
  ASSERT_TRUE(float_model.ok() && int8_model.ok());
  const eval::ModelSummary a = eval::SummarizeModel(**float_model);
  const eval::ModelSummary b = eval::SummarizeModel(**int8_model);
  const eval::ModelDiff d = eval::DiffModels(a, b);
  // Every FULLY_CONNECTED now reads its weight through DEQUANTIZE of an int8 constant.
  const int fc_ops = a.op_counts.at("FULLY_CONNECTED");
  EXPECT_GT(fc_ops, 0);
  EXPECT_EQ(d.input_dtype_changes.at("FULLY_CONNECTED input 1: float32 -> int8(deq)"), fc_ops);
  EXPECT_EQ(b.op_dtype_counts.at("FULLY_CONNECTED float32 x int8(deq) -> float32"), fc_ops);
  // DEQUANTIZE ops exist only in the second file, one per rewritten weight tensor.
  EXPECT_EQ(a.op_counts.count("DEQUANTIZE"), 0u);
  EXPECT_EQ(d.ops_only_in_second.at("DEQUANTIZE"), b.op_counts.at("DEQUANTIZE"));
  EXPECT_EQ(d.op_count_changes.at("DEQUANTIZE").second, b.op_counts.at("DEQUANTIZE"));
  EXPECT_EQ(static_cast<int>(d.changed_tensors.size()), b.op_counts.at("DEQUANTIZE"));
  // The weights become int8 constants, the RoPE tables float16 ones (2 x 2 of them:
  // llama-tiny has one RoPE base, cos and sin, in each of the two subgraphs).
  EXPECT_EQ(
      d.only_in_second_kinds.at("int8 constant") + d.only_in_second_kinds.at("float16 constant"),
      b.op_counts.at("DEQUANTIZE"));
  EXPECT_EQ(d.only_in_second_kinds.at("float16 constant"), 4);
  EXPECT_TRUE(d.only_in_first.empty());
  // Weight-only: nothing moved out of float, and every float byte removed is an int8 byte
  // (4 bytes per element become 1) or a float16 one (4 become 2).
  EXPECT_TRUE(d.compute_class_moves.empty());
  EXPECT_EQ(a.float_op_counts, b.float_op_counts);
  EXPECT_EQ(a.constant_bytes.count("int8"), 0u);
  EXPECT_EQ(a.constant_bytes.at("float32") - b.constant_bytes.at("float32"),
            4 * b.constant_bytes.at("int8") + 2 * b.constant_bytes.at("float16"));
  EXPECT_EQ(eval::MetadataValueJson(b.metadata.at("liteq.quantization"))["recipe"],
            "weight_only_int8");
}

}  // namespace
}  // namespace liteq::e2e
