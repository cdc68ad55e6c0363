// liteq's runtime is generic over the graph: it loads and runs small .tflite files
// that were made by hand with flatc from the official schema (not by liteq's writer):
// tests/conformance/testdata/kv_steps*.tflite, GATHER -> DYNAMIC_UPDATE_SLICE of a
// state tensor -> FULLY_CONNECTED, with two signatures sharing the cache.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/interpreter.h"

namespace liteq::e2e {
namespace {

// The model's constants, as written in tests/conformance/testdata/kv_steps.json.
constexpr int kDim = 2, kOut = 3, kCacheLen = 6;
const std::vector<float> kTable = {0.5f, -1.f, 1.5f, 2.f, -3.f, 0.25f, 4.f, -0.5f, 1.f, 1.f};
const std::vector<float> kW = {1.f, 2.f, -1.f, 0.5f, 0.25f, -4.f};
const std::vector<float> kBias = {0.1f, -0.2f, 0.3f};

class HandmadeModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(HandmadeModelTest, PrefillThenDecodeSharesTheCache) {
  const std::string path = std::string(LITEQ_CONFORMANCE_TESTDATA) + "/" + GetParam();
  auto interpreter = runtime::Interpreter::Load(path);
  ASSERT_TRUE(interpreter.ok()) << interpreter.status().ToString();
  auto& interp = **interpreter;
  auto cache = interp.State("kv_cache");
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  std::vector<float> expected_cache(kCacheLen * kDim, 0.f);

  const std::vector<std::pair<std::string, std::vector<int32_t>>> steps = {
      {"prefill", {3, 1}}, {"decode", {4}}, {"decode", {0}}};
  int pos = 0;
  for (const auto& [signature, tokens] : steps) {
    auto runner = interp.GetSignature(signature);
    ASSERT_TRUE(runner.ok()) << runner.status().ToString();
    auto tok = (*runner)->Input("tokens");
    auto start = (*runner)->Input("start");
    ASSERT_TRUE(tok.ok() && start.ok());
    ASSERT_EQ(tok->as<int32_t>().size(), tokens.size());
    std::copy(tokens.begin(), tokens.end(), tok->as<int32_t>().begin());
    const int32_t start_values[3] = {0, pos, 0};
    std::copy(start_values, start_values + 3, start->as<int32_t>().begin());
    ASSERT_TRUE((*runner)->Invoke().ok());

    auto logits = (*runner)->Output("logits");
    ASSERT_TRUE(logits.ok());
    auto l = logits->as<float>();
    ASSERT_EQ(l.size(), tokens.size() * kOut);
    for (size_t t = 0; t < tokens.size(); ++t) {
      for (int o = 0; o < kOut; ++o) {
        float sum = kBias[o];
        for (int d = 0; d < kDim; ++d) sum += kTable[tokens[t] * kDim + d] * kW[o * kDim + d];
        EXPECT_NEAR(l[t * kOut + o], sum, 1e-6f) << signature << " token " << t;
      }
      for (int d = 0; d < kDim; ++d) {
        expected_cache[(pos + t) * kDim + d] = kTable[tokens[t] * kDim + d];
      }
    }
    pos += static_cast<int>(tokens.size());
    // The state is shared by both signatures and updated in place.
    auto state = interp.State("kv_cache");
    ASSERT_TRUE(state.ok());
    EXPECT_EQ(state->data, cache->data);
    auto s = state->as<float>();
    EXPECT_EQ(std::vector<float>(s.begin(), s.end()), expected_cache) << "after " << signature;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, HandmadeModelTest,
                         ::testing::Values("kv_steps.tflite", "kv_steps_external.tflite"),
                         [](const auto& info) {
                           std::string s = info.param;
                           return s.substr(0, s.find('.'));
                         });

}  // namespace
}  // namespace liteq::e2e
