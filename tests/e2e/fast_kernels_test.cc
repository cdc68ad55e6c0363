// The fast integer kernels (FULLY_CONNECTED int8/hybrid, BATCH_MATMUL int8, the fused
// RMSNorm statistic, int8 RoPE and SiLU) inside a whole quantized model: gemma3-tiny
// (GELU) and llama-tiny (SiLU) exported with static_int8 and dynamic_int8 give
// bit-identical logits with InterpreterOptions::use_reference_kernels (the scalar
// references) and with the fast kernels on 1, 2 and 3 threads, through prefill chunks and
// decode steps. Generation's last-row logits (SignatureRunner::SelectOutputRow) equal
// the last row of the full prefill logits for every recipe. FCs that read the input of
// the FC before them reuse its quantized rows (dynamic_int8) or its rows prepared for the
// VNNI dots (static_int8, on CPUs with AVX-512 VNNI).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "e2e_util.h"
#include "runtime/kernels/quantized/packed_int8.h"

namespace liteq::e2e {
namespace {

// reused_inputs: set to the FCs' reuses of the previous FC's quantized or prepared input
// (ExecutionCounters::hybrid_inputs_reused, int8_inputs_reused) over every signature;
// fused_norms: to the
// RMSNorm statistics run as one kernel (PlanReport::fused_inverse_rms); fused: to the
// int8 RoPE blocks and the SiLUs run as one kernel (PlanReport::fused_rope, fused_silu).
struct Fused {
  int norms = 0, ropes = 0, silus = 0;
};
struct Reused {
  uint64_t hybrid = 0, int8 = 0;
};
std::vector<float> RunLogits(const std::string& path, runtime::InterpreterOptions options,
                             const std::vector<int32_t>& tokens, Reused* reused_inputs = nullptr,
                             Fused* fused = nullptr) {
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
  for (const std::string& key : (*interpreter)->SignatureKeys()) {
    auto runner = (*interpreter)->GetSignature(key);
    if (!runner.ok()) continue;
    if (reused_inputs != nullptr) {
      reused_inputs->hybrid += (*runner)->counters().hybrid_inputs_reused;
      reused_inputs->int8 += (*runner)->counters().int8_inputs_reused;
    }
    if (fused != nullptr) {
      fused->norms += (*runner)->plan_report().fused_inverse_rms;
      fused->ropes += (*runner)->plan_report().fused_rope;
      fused->silus += (*runner)->plan_report().fused_silu;
    }
  }
  return logits;
}

struct FastKernelsModel {
  const char* name;  // the test's
  const char* dir;   // under models/
  int layers;
  bool silu;  // else GELU
};

class FastKernelsModelsTest : public ::testing::TestWithParam<FastKernelsModel> {};

TEST_P(FastKernelsModelsTest, QuantizedLogitsIdenticalToReferenceKernels) {
  const FastKernelsModel model = GetParam();
  const std::string dir = ModelDir(model.dir);
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
    Fused reference_fused;
    const std::vector<float> expected =
        RunLogits(path, reference_options, tokens, nullptr, &reference_fused);
    ASSERT_FALSE(expected.empty());
    // The reference kernels run every int8 op by itself (the float SiLU of dynamic_int8
    // is not an integer kernel: it stays fused).
    EXPECT_EQ(reference_fused.norms + reference_fused.ropes, 0);
    // 3 threads: FC channel tasks in multiples of the thread count, the fused int8
    // attention's single-row blocks and its live rows prepared in parts.
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE("threads " + std::to_string(threads));
      runtime::InterpreterOptions fast_options;
      fast_options.num_threads = threads;
      Reused reused;
      Fused fused;
      const std::vector<float> actual = RunLogits(path, fast_options, tokens, &reused, &fused);
      ASSERT_EQ(actual.size(), expected.size());
      EXPECT_EQ(std::memcmp(actual.data(), expected.data(), actual.size() * sizeof(float)), 0);
      // k and v (after q) and up (after gate) take the quantized (dynamic_int8) or
      // VNNI-prepared (static_int8) input the FC before them left, so the comparison
      // above covers the reuse.
      if (recipe == quant::Recipe::kDynamicInt8) {
        EXPECT_GT(reused.hybrid, 0u) << "no hybrid FC reused its predecessor's quantized input";
        EXPECT_EQ(reused.int8, 0u);
      } else {
        EXPECT_EQ(reused.hybrid, 0u);
        if (runtime::quantized::Int8DotsAvx512VnniSupported()) {
          EXPECT_GT(reused.int8, 0u) << "no int8 FC reused its predecessor's prepared input";
        }
      }
      // The RMSNorm statistics ran fused (float in dynamic_int8, int8 in and out in
      // static_int8), the reference run op by op: the comparison above covers them.
      EXPECT_GT(fused.norms, 0) << "no RMSNorm statistic ran as one kernel";
      // The RoPE on q (with attention's q scale) and k ran fused in every layer of both
      // signatures (int8 in static_int8, float in dynamic_int8), and so did the SiLU
      // (static_int8's int8 table, dynamic_int8's float SiLU).
      EXPECT_EQ(fused.ropes, 2 * model.layers * 2);
      EXPECT_EQ(fused.silus, model.silu ? model.layers * 2 : 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, FastKernelsModelsTest,
                         ::testing::Values(FastKernelsModel{"gemma3_tiny", "gemma3-tiny", 6, false},
                                           FastKernelsModel{"llama_tiny", "llama-tiny", 4, true}),
                         [](const ::testing::TestParamInfo<FastKernelsModel>& info) {
                           return std::string(info.param.name);
                         });

// A session without all_logits computes only the last prompt row of the output head.
constexpr float kOneRowWeightOnlyTolerance = 2e-5f;

TEST(FastKernelsModelTest, LastRowLogitsEqualTheFullPrefillsLastRow) {
  const std::string dir = ModelDir("gemma3-tiny");
  auto ref = OpenReference(dir);
  std::vector<int32_t> tokens = ReadEvalWindows(*ref).at(1);
  tokens.resize(27);  // a padded chunk: the row needed is not the signature's last
  const model::ExportOptions export_options{.prefill_lengths = {32}, .max_seq = 64};
  std::vector<std::string> paths = {ExportOnce(dir, export_options)};
  for (quant::Recipe recipe : {quant::Recipe::kStaticInt8, quant::Recipe::kDynamicInt8,
                               quant::Recipe::kWeightOnlyInt8, quant::Recipe::kWeightOnlyInt4}) {
    paths.push_back(ExportQuantizedOnce(dir, export_options, {.recipe = recipe}));
  }
  for (size_t p = 0; p < paths.size(); ++p) {
    const std::string& path = paths[p];
    // The weight-only FC runs one row as a GEMV converting weights in registers and
    // many rows as dequantized chunks times a float GEMM: same products, other float
    // summation order (runtime::kWeightOnlyDotRelativeTolerance of the products'
    // magnitude); only the output head differs, measured ~1e-6 of the largest logit.
    const bool weight_only = p >= 3;
    ASSERT_FALSE(path.empty());
    SCOPED_TRACE(path);
    for (int threads : {1, 2}) {
      runtime::InterpreterOptions options;
      options.num_threads = threads;
      auto interpreter = runtime::Interpreter::Load(path, options);
      ASSERT_TRUE(interpreter.ok()) << interpreter.status().ToString();
      auto prefill = (*interpreter)->GetSignature("prefill");
      ASSERT_TRUE(prefill.ok());
      // The file's output head can be restricted (else the test below proves nothing).
      ASSERT_TRUE((*prefill)->SelectOutputRow("logits", 0).ok());
      auto session = generate::Session::Create(interpreter->get());
      ASSERT_TRUE(session.ok());
      std::vector<float> all;
      ASSERT_TRUE((*session)->Feed(tokens, &all).ok());
      const size_t vocab = all.size() / tokens.size();
      (*session)->Reset();
      ASSERT_TRUE((*session)->Feed(tokens).ok());
      const auto last = (*session)->last_logits();
      ASSERT_EQ(last.size(), vocab);
      const float* expected = all.data() + (tokens.size() - 1) * vocab;
      if (!weight_only) {
        EXPECT_EQ(std::memcmp(last.data(), expected, vocab * sizeof(float)), 0);
        continue;
      }
      float largest = 0.0f, diff = 0.0f;
      for (size_t i = 0; i < vocab; ++i) {
        largest = std::max(largest, std::fabs(expected[i]));
        diff = std::max(diff, std::fabs(last[i] - expected[i]));
      }
      EXPECT_LE(diff, kOneRowWeightOnlyTolerance * largest);
      EXPECT_GT(diff, 0.0f) << "expected the one-row GEMV's float order to differ";
    }
  }
}

}  // namespace
}  // namespace liteq::e2e
