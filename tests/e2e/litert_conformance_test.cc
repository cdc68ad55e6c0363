// The official LiteRT runtime (@litertjs/core, WebAssembly + XNNPACK) runs the .tflite
// files liteq writes, through both signatures with the KV cache carried between
// calls, and its logits match liteq's runtime.
#include <gtest/gtest.h>

#include <ostream>

#include "e2e_util.h"
#include "litert_runner.h"

namespace liteq::e2e {
namespace {

using conformance::LiteRtStep;
using conformance::MakeInt32Tensor;

struct Case {
  const char* name;
  std::string dir;
  bool weight_only_int8 = false;  // int8 weights + DEQUANTIZE (per channel; embedding per tensor)
  friend void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }
};

class LiteRtConformanceTest : public ::testing::TestWithParam<Case> {};

TEST_P(LiteRtConformanceTest, PrefillAndDecodeMatchLiteq) {
  LITEQ_REQUIRE_LITERT();
  constexpr int kPrefill = 16;
  const model::ExportOptions options{.prefill_lengths = {kPrefill}, .max_seq = 64};
  const std::string path = GetParam().weight_only_int8
                               ? ExportQuantizedOnce(GetParam().dir, options, {})
                               : ExportOnce(GetParam().dir, options);
  LoadedModel m = LoadTflite(path);
  const int vocab = m.session->shape().vocab_size;

  // A 10-token prompt padded to the prefill length, then two decode steps that feed
  // liteq's greedy tokens.
  std::vector<int32_t> prompt;
  for (int i = 0; i < 10; ++i) prompt.push_back(1 + (i * 97) % (vocab - 1));
  std::vector<float> liteq_prefill;
  ASSERT_TRUE(m.session->Feed(prompt, &liteq_prefill).ok());
  std::vector<int32_t> decode_tokens;
  std::vector<std::vector<float>> liteq_decode;
  for (int step = 0; step < 2; ++step) {
    auto last = m.session->last_logits();
    const int32_t next = static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    decode_tokens.push_back(next);
    const int32_t one[1] = {next};
    ASSERT_TRUE(m.session->Feed(one).ok());
    liteq_decode.emplace_back(m.session->last_logits().begin(), m.session->last_logits().end());
  }

  std::vector<int32_t> tokens(prompt), positions;
  tokens.resize(kPrefill, 0);
  for (int i = 0; i < kPrefill; ++i) positions.push_back(i);
  std::vector<LiteRtStep> steps;
  LiteRtStep prefill{"prefill", {MakeInt32Tensor("tokens", {1, kPrefill}, tokens),
                                 MakeInt32Tensor("input_pos", {kPrefill}, positions)}};
  // Zero caches for the first call; later steps take the previous outputs.
  for (const auto& name : m.interpreter->StateNames()) {
    auto state = m.interpreter->State(name);
    ASSERT_TRUE(state.ok());
    prefill.inputs.push_back(conformance::MakeFloat32Tensor(
        name, std::vector<int>(state->shape.begin(), state->shape.end()),
        std::vector<float>(state->bytes / sizeof(float), 0.0f)));
  }
  steps.push_back(prefill);
  for (int step = 0; step < 2; ++step) {
    steps.push_back({"decode", {MakeInt32Tensor("tokens", {1, 1}, {decode_tokens[step]}),
                                MakeInt32Tensor("input_pos", {1}, {10 + step})}});
  }
  auto outputs = conformance::RunInLiteRt(path, steps);
  ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
  ASSERT_EQ(outputs->size(), 3u);

  const auto* logits = conformance::FindTensor((*outputs)[0], "logits");
  ASSERT_NE(logits, nullptr);
  std::vector<float> litert_prefill = conformance::Float32Values(*logits);
  litert_prefill.resize(prompt.size() * vocab);  // padded positions are not compared
  const double prefill_err = MaxRelativeError(litert_prefill, liteq_prefill);
  EXPECT_LT(prefill_err, 1e-4);
  for (int step = 0; step < 2; ++step) {
    const auto* l = conformance::FindTensor((*outputs)[step + 1], "logits");
    ASSERT_NE(l, nullptr);
    const double err = MaxRelativeError(conformance::Float32Values(*l), liteq_decode[step]);
    EXPECT_LT(err, 1e-4) << "decode step " << step;
  }
  std::printf("[ %s ] LiteRT vs liteq: prefill max rel err %.2e\n", GetParam().name, prefill_err);
  if (GetParam().weight_only_int8) {
    // The agreement is about the int8 weights: the float model's logits are further away.
    LoadedModel f = LoadTflite(ExportOnce(GetParam().dir, options));
    std::vector<float> float_prefill;
    ASSERT_TRUE(f.session->Feed(prompt, &float_prefill).ok());
    const double int8_vs_float = MaxRelativeError(liteq_prefill, float_prefill);
    EXPECT_GT(int8_vs_float, 10 * prefill_err);
    std::printf("[ %s ] int8 vs float32 logits (liteq): max rel diff %.2e\n", GetParam().name,
                int8_vs_float);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, LiteRtConformanceTest,
    ::testing::Values(Case{"gemma3_tiny", ModelDir("gemma3-tiny")}, Case{"llama_tiny", ModelDir("llama-tiny")},
                      Case{"stories260K", ModelDir("stories260K") + "/stories260K.bin"},
                      Case{"stories260K_v1", ModelDir("stories260K") + "/stories260K_v1.bin"},
                      Case{"qwen2", FamilyDir("qwen2")}, Case{"qwen3", FamilyDir("qwen3")},
                      Case{"llama3", FamilyDir("llama3")}, Case{"mistral", FamilyDir("mistral")},
                      Case{"phi3", FamilyDir("phi3")}, Case{"phi", FamilyDir("phi")},
                      Case{"stablelm", FamilyDir("stablelm")}, Case{"falcon", FamilyDir("falcon")},
                      Case{"gemma", FamilyDir("gemma")}, Case{"gemma2", FamilyDir("gemma2")},
                      Case{"gemma3_text", FamilyDir("gemma3_text")},
                      Case{"gemma3n_text", FamilyDir("gemma3n_text")},
                      // Both runtimes dequantize the same int8 weights.
                      Case{"gemma3_tiny_weight_only_int8", ModelDir("gemma3-tiny"), true},
                      Case{"llama_tiny_weight_only_int8", ModelDir("llama-tiny"), true}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace liteq::e2e
