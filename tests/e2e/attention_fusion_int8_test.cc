// The fused int8 attention kernel (runtime/kernels/fused_attention_int8.h) against the
// int8 ops it replaces: static int8 models run with fusion on and off give
// bit-identical logits through chunked prefill (padded chunks), decode past the
// sliding window of gemma3-tiny's local layers, and a second sequence after Reset,
// whose hidden cache rows still hold the first sequence's keys and values. Both
// float and int8 KV caches. The fused run must also have taken the path that adds
// the hidden keys' value rows (a hidden key with a probability above zero) and left
// out the keys a prefill block's rows all hide (the causal cut).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "e2e_util.h"
#include "runtime/kernels/quantized/packed_int8.h"

namespace liteq::e2e {
namespace {

struct Case {
  const char* model;
  bool kv_int8;
  int layers;  // fused blocks expected per signature
  // Some query gives hidden keys a probability above zero on this model's tokens
  // (measured: gemma3-tiny yes, llama-tiny never).
  bool hidden_probabilities;
  // Worker threads of both runs: the fused kernel splits query rows (single rows when
  // there are few, as in decode) and the live cache rows across them.
  int threads;
};

class AttentionFusionInt8Test : public ::testing::TestWithParam<Case> {};

struct OpenModel {
  std::unique_ptr<runtime::Interpreter> interpreter;
  std::unique_ptr<generate::Session> session;
};

OpenModel Open(const std::string& path, bool fused, int expected_layers, int threads) {
  runtime::InterpreterOptions options;
  options.fuse_attention = fused;
  options.num_threads = threads;
  OpenModel run;
  auto interpreter = runtime::Interpreter::Load(path, options);
  EXPECT_TRUE(interpreter.ok()) << interpreter.status().ToString();
  if (!interpreter.ok()) return run;
  run.interpreter = std::move(*interpreter);
  for (const std::string& key : run.interpreter->SignatureKeys()) {
    auto runner = run.interpreter->GetSignature(key);
    EXPECT_TRUE(runner.ok());
    if (runner.ok()) {
      EXPECT_EQ((*runner)->plan_report().fused_attention, fused ? expected_layers : 0) << key;
    }
  }
  auto session = generate::Session::Create(run.interpreter.get());
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (session.ok()) run.session = std::move(*session);
  return run;
}

template <typename Counter>
uint64_t SumOverSignatures(const OpenModel& run, Counter counter) {
  uint64_t total = 0;
  for (const std::string& key : run.interpreter->SignatureKeys()) {
    auto runner = run.interpreter->GetSignature(key);
    if (runner.ok()) total += counter((*runner)->counters());
  }
  return total;
}

uint64_t HiddenValueSums(const OpenModel& run) {
  return SumOverSignatures(
      run, [](const runtime::ExecutionCounters& c) { return c.attention_hidden_value_sums; });
}

TEST_P(AttentionFusionInt8Test, SameLogitsAsUnfusedOps) {
  const Case c = GetParam();
  const std::string dir = ModelDir(c.model);
  // minmax ranges: on gemma3-tiny they leave rows whose hidden-key probability is not
  // the zero point, so the hidden-V path runs (the default moving_average leaves none).
  const std::string path = ExportQuantizedOnce(
      dir, {.prefill_lengths = {32}, .max_seq = 192},
      {.recipe = quant::Recipe::kStaticInt8, .observer = "minmax", .kv_cache_int = c.kv_int8});
  ASSERT_FALSE(path.empty());
  OpenModel runs[2] = {Open(path, false, c.layers, c.threads),
                       Open(path, true, c.layers, c.threads)};
  ASSERT_TRUE(runs[0].session && runs[1].session);

  auto ref = OpenReference(dir);
  const std::vector<std::vector<int32_t>> windows = ReadEvalWindows(*ref);
  auto feed_and_compare = [&](std::span<const int32_t> tokens, const std::string& where) {
    std::vector<float> logits[2];
    for (int f = 0; f < 2; ++f) {
      const Status s = runs[f].session->Feed(tokens, &logits[f]);
      ASSERT_TRUE(s.ok()) << where << ": " << s.ToString();
    }
    ASSERT_EQ(logits[0].size(), logits[1].size());
    ASSERT_EQ(std::memcmp(logits[0].data(), logits[1].data(), logits[0].size() * sizeof(float)), 0)
        << where;
  };
  // 100 prompt tokens in two calls (33 + 67: chunks of 32, the last of each call
  // padded; the second call's query blocks end on the first key of a 16-key group,
  // the causal cut's edge case), then decode to position 170, past gemma3-tiny's
  // 128-token sliding window.
  const std::vector<int32_t>& first = windows.at(0);
  feed_and_compare(std::span(first).first(33), "prefill");
  feed_and_compare(std::span(first).subspan(33, 67), "second prefill call");
  for (size_t i = 100; i < 170; ++i) {
    feed_and_compare(std::span(first).subspan(i, 1), "decode position " + std::to_string(i));
  }
  // A second, shorter sequence over the first one's cache rows.
  for (OpenModel& run : runs) run.session->Reset();
  const std::vector<int32_t>& second = windows.at(1);
  feed_and_compare(std::span(second).first(20), "second prefill");
  for (size_t i = 20; i < 40; ++i) {
    feed_and_compare(std::span(second).subspan(i, 1), "second decode " + std::to_string(i));
  }
  EXPECT_EQ(HiddenValueSums(runs[0]), 0u);
  if (c.hidden_probabilities) {
    EXPECT_GT(HiddenValueSums(runs[1]), 0u) << "the hidden-rows path was never exercised";
  }
  // Prefill chunks (32 tokens) take the VNNI products where the CPU has them, decode
  // steps (a few query rows per kv head) the AVX2 ones: both are compared above. The
  // suite runs again with LITEQ_INT8_DOTS=avx2 (tests/e2e/CMakeLists.txt), where
  // prefill takes the AVX2 products too.
  const uint64_t vnni_heads = SumOverSignatures(
      runs[1], [](const runtime::ExecutionCounters& c) { return c.attention_vnni_heads; });
  if (runtime::quantized::BestPackedInt8Dots() == &runtime::quantized::PackedInt8DotsAvx512Vnni) {
    EXPECT_GT(vnni_heads, 0u) << "the VNNI products were never exercised";
  } else {
    EXPECT_EQ(vnni_heads, 0u);
  }
  // Prefill blocks of the first rows of a chunk leave out the later keys they all hide.
  const uint64_t keys_cut = SumOverSignatures(
      runs[1], [](const runtime::ExecutionCounters& c) { return c.attention_keys_cut; });
  EXPECT_GT(keys_cut, 0u) << "no prefill block left out hidden keys";
}

INSTANTIATE_TEST_SUITE_P(Models, AttentionFusionInt8Test,
                         ::testing::Values(Case{"gemma3-tiny", false, 6, true, 2},
                                           Case{"gemma3-tiny", true, 6, true, 2},
                                           Case{"llama-tiny", false, 4, false, 2},
                                           Case{"gemma3-tiny", false, 6, true, 1},
                                           Case{"gemma3-tiny", true, 6, true, 3},
                                           Case{"llama-tiny", false, 4, false, 1},
                                           Case{"llama-tiny", true, 4, false, 3}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.model;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name + (info.param.kv_int8 ? "_kv_int8" : "_kv_float") + "_" +
                                  std::to_string(info.param.threads) + "_threads";
                         });

}  // namespace
}  // namespace liteq::e2e
