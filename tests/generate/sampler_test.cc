#include "generate/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace liteq::generate {
namespace {

TEST(SamplerTest, GreedyIsArgmaxWithLowestIndexOnTies) {
  std::vector<float> logits = {0.1f, 2.0f, -1.0f, 2.0f};
  Sampler s({});
  EXPECT_EQ(s.Sample(logits), 1);
  EXPECT_EQ(Argmax(logits), 1);
}

TEST(SamplerTest, TopKOneIsGreedyAtAnyTemperature) {
  std::vector<float> logits = {0.5f, 0.4f, 3.0f, 0.2f};
  Sampler s({.temperature = 5.0f, .top_k = 1, .seed = 7});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.Sample(logits), 2);
}

TEST(SamplerTest, SameSeedSameSequence) {
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[i] = std::sin(static_cast<float>(i));
  Sampler a({.temperature = 1.0f, .seed = 42});
  Sampler b({.temperature = 1.0f, .seed = 42});
  Sampler c({.temperature = 1.0f, .seed = 43});
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    int32_t x = a.Sample(logits);
    EXPECT_EQ(x, b.Sample(logits));
    differ += x != c.Sample(logits);
  }
  EXPECT_GT(differ, 0);
}

TEST(SamplerTest, FrequenciesFollowSoftmax) {
  // p = 0.75 / 0.25 at temperature 1.
  std::vector<float> logits = {std::log(0.75f), std::log(0.25f)};
  Sampler s({.temperature = 1.0f, .seed = 1});
  int first = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) first += s.Sample(logits) == 0;
  EXPECT_NEAR(static_cast<double>(first) / n, 0.75, 0.015);
}

TEST(SamplerTest, TopPKeepsOnlyTheNucleus) {
  // probabilities 0.6, 0.3, 0.1: top_p 0.5 keeps only the first; 0.85 keeps two.
  std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  Sampler only_first({.temperature = 1.0f, .top_p = 0.5f, .seed = 3});
  for (int i = 0; i < 200; ++i) EXPECT_EQ(only_first.Sample(logits), 0);
  Sampler two({.temperature = 1.0f, .top_p = 0.85f, .seed = 3});
  int third = 0, second = 0;
  for (int i = 0; i < 2000; ++i) {
    int32_t t = two.Sample(logits);
    third += t == 2;
    second += t == 1;
  }
  EXPECT_EQ(third, 0);
  EXPECT_GT(second, 400);  // expected 2000 * 1/3
}

TEST(SamplerTest, RejectsBadOptions) {
  EXPECT_FALSE(ValidateSamplerOptions({.temperature = -1.0f}).ok());
  EXPECT_FALSE(ValidateSamplerOptions({.top_k = -2}).ok());
  EXPECT_FALSE(ValidateSamplerOptions({.top_p = 0.0f}).ok());
  EXPECT_FALSE(ValidateSamplerOptions({.top_p = 1.5f}).ok());
  EXPECT_TRUE(ValidateSamplerOptions({.temperature = 0.8f, .top_k = 40, .top_p = 0.95f}).ok());
}

}  // namespace
}  // namespace liteq::generate
