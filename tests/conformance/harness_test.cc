// Tests the LiteRT conformance harness itself on hand-made models (made by
// testdata/make_testdata.mjs with flatc, without liteq's writer): the outputs of the
// official runtime are checked against values computed here from the model's
// constants.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "litert_runner.h"

namespace liteq::conformance {
namespace {

const std::string kTestdata = std::string(LITEQ_CONFORMANCE_DIR) + "/testdata/";

// The constants of testdata/kv_steps.json (see make_testdata.mjs).
constexpr int kVocab = 5, kDim = 2, kOut = 3, kCacheLen = 6;
const std::vector<float> kTable = {0.5f, -1.f, 1.5f, 2.f, -3.f, 0.25f, 4.f, -0.5f, 1.f, 1.f};
const std::vector<float> kW = {1.f, 2.f, -1.f, 0.5f, 0.25f, -4.f};  // [kOut, kDim]
const std::vector<float> kBias = {0.1f, -0.2f, 0.3f};

// What the model computes for `tokens` written at cache position `pos`:
// emb = table[tokens]; cache[pos:pos+T] = emb; logits = emb W^T + bias.
std::vector<float> ExpectedLogits(const std::vector<int>& tokens) {
  std::vector<float> logits;
  for (int token : tokens) {
    for (int o = 0; o < kOut; ++o) {
      float sum = kBias[o];
      for (int d = 0; d < kDim; ++d) sum += kTable[token * kDim + d] * kW[o * kDim + d];
      logits.push_back(sum);
    }
  }
  return logits;
}

void WriteExpectedCache(std::vector<float>& cache, const std::vector<int>& tokens, int pos) {
  for (size_t t = 0; t < tokens.size(); ++t) {
    for (int d = 0; d < kDim; ++d) cache[(pos + t) * kDim + d] = kTable[tokens[t] * kDim + d];
  }
}

void ExpectNear(const std::vector<float>& actual, const std::vector<float>& expected,
                const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  // float32 sums of two products: exact up to rounding of a few ulps.
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-5f) << what << " element " << i;
  }
}

LiteRtStep Step(const std::string& signature, const std::vector<int>& tokens, int pos) {
  return {signature,
          {MakeInt32Tensor("tokens", {1, static_cast<int>(tokens.size())},
                           std::vector<int32_t>(tokens.begin(), tokens.end())),
           MakeInt32Tensor("start", {3}, {0, pos, 0})}};
}

// Prefill of two tokens, then two decode steps that get the cache carried over.
void RunKvSteps(const std::string& model) {
  const std::vector<std::vector<int>> tokens = {{3, 1}, {4}, {0}};
  const std::vector<int> positions = {0, 2, 3};
  std::vector<LiteRtStep> steps = {Step("prefill", tokens[0], positions[0]),
                                   Step("decode", tokens[1], positions[1]),
                                   Step("decode", tokens[2], positions[2])};
  std::vector<float> cache(kCacheLen * kDim, 0.f);
  cache[kCacheLen * kDim - 1] = 7.f;  // a value no step overwrites
  steps[0].inputs.push_back(MakeFloat32Tensor("kv_cache", {1, kCacheLen, kDim}, cache));

  Result<std::vector<std::vector<LiteRtTensor>>> results = RunInLiteRt(model, steps);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), steps.size());
  for (size_t k = 0; k < steps.size(); ++k) {
    const std::vector<LiteRtTensor>& outputs = (*results)[k];
    ASSERT_EQ(outputs.size(), 2u);
    EXPECT_EQ(outputs[0].name, "logits");  // the signature's output order
    const LiteRtTensor* logits = FindTensor(outputs, "logits");
    const LiteRtTensor* kv = FindTensor(outputs, "kv_cache");
    ASSERT_NE(logits, nullptr);
    ASSERT_NE(kv, nullptr);
    ASSERT_EQ(logits->dtype, "float32");
    EXPECT_EQ(logits->shape, (std::vector<int>{1, static_cast<int>(tokens[k].size()), kOut}));
    EXPECT_EQ(kv->shape, (std::vector<int>{1, kCacheLen, kDim}));
    WriteExpectedCache(cache, tokens[k], positions[k]);
    const std::string what = model + " step " + std::to_string(k);
    ExpectNear(Float32Values(*logits), ExpectedLogits(tokens[k]), what + " logits");
    ExpectNear(Float32Values(*kv), cache, what + " kv_cache");
  }
}

TEST(ConformanceHarness, PrefillThenDecodeCarriesTheCache) {
  LITEQ_REQUIRE_LITERT();
  RunKvSteps(kTestdata + "kv_steps.tflite");
}

// Buffer bytes stored after the flatbuffer and found by Buffer.offset/size.
TEST(ConformanceHarness, BuffersOutsideTheFlatbuffer) {
  LITEQ_REQUIRE_LITERT();
  RunKvSteps(kTestdata + "kv_steps_external.tflite");
}

TEST(ConformanceHarness, ReportsUnknownSignature) {
  LITEQ_REQUIRE_LITERT();
  auto results = RunInLiteRt(kTestdata + "kv_steps.tflite", {Step("generate", {1}, 0)});
  ASSERT_FALSE(results.ok());
  EXPECT_NE(results.status().message().find("no signature 'generate'"), std::string::npos)
      << results.status().ToString();
}

TEST(ConformanceHarness, ReportsAMissingStateInput) {
  LITEQ_REQUIRE_LITERT();
  // The first step has no earlier output to take kv_cache from.
  auto results = RunInLiteRt(kTestdata + "kv_steps.tflite", {Step("decode", {1}, 0)});
  ASSERT_FALSE(results.ok());
  EXPECT_NE(results.status().message().find("input 'kv_cache'"), std::string::npos)
      << results.status().ToString();
}

TEST(ConformanceHarness, ReportsAShapeMismatch) {
  LITEQ_REQUIRE_LITERT();
  LiteRtStep step = Step("decode", {1, 2}, 0);  // decode takes one token
  step.inputs.push_back(MakeFloat32Tensor("kv_cache", {1, kCacheLen, kDim},
                                          std::vector<float>(kCacheLen * kDim, 0.f)));
  auto results = RunInLiteRt(kTestdata + "kv_steps.tflite", {step});
  ASSERT_FALSE(results.ok());
  EXPECT_NE(results.status().message().find("expects [1,1]"), std::string::npos)
      << results.status().ToString();
}

TEST(ConformanceHarness, RejectsInputBytesThatDoNotMatchTheShape) {
  LITEQ_REQUIRE_LITERT();
  LiteRtStep step = Step("decode", {1}, 0);
  step.inputs.push_back(MakeFloat32Tensor("kv_cache", {1, kCacheLen, kDim}, {1.f, 2.f}));
  auto results = RunInLiteRt(kTestdata + "kv_steps.tflite", {step});
  ASSERT_FALSE(results.ok());
  EXPECT_EQ(results.status().code(), StatusCode::kInvalidArgument);
}

TEST(ConformanceHarness, ReportsAModelLiteRtCannotLoad) {
  LITEQ_REQUIRE_LITERT();
  auto results = RunInLiteRt(kTestdata + "kv_steps.json", {Step("decode", {1}, 0)});
  ASSERT_FALSE(results.ok());
  EXPECT_NE(results.status().message().find("could not load"), std::string::npos)
      << results.status().ToString();
}

}  // namespace
}  // namespace liteq::conformance
