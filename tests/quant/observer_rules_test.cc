// Per-tensor observers from recipe file rules (ObserverRule): the first rule whose regex
// is found in an activation tensor's name chooses its observer, the others keep the
// default, a rule that matches nothing is an error, and the file parser builds them.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "quant/calibration.h"
#include "quant/weight_rules.h"

namespace liteq::quant {
namespace {

// Two batches of 1000 values in [-1, 1] plus one spike of 50 in the second batch.
TensorCalibration SpikyTensor() {
  TensorCalibration t;
  for (int batch = 0; batch < 2; ++batch) {
    std::vector<float> v(1000);
    for (size_t i = 0; i < v.size(); ++i) v[i] = -1.0f + 2.0f * static_cast<float>(i) / 999.0f;
    if (batch == 1) v[10] = 50.0f;
    t.stats.Observe(v);
  }
  return t;
}

CalibrationResult TwoTensors() {
  CalibrationResult c;
  c.tensors["layers.0.mlp.gated"] = SpikyTensor();
  c.tensors["layers.0.attn.q"] = SpikyTensor();
  return c;
}

TEST(ObserverRulesTest, FirstMatchingRuleChoosesTheObserver) {
  const CalibrationResult c = TwoTensors();
  auto all_minmax = ComputeActivationRanges(c, ObserverKind::kMinMax, {});
  ASSERT_TRUE(all_minmax.ok());
  EXPECT_EQ(all_minmax->at("layers.0.mlp.gated").max, 50.0f);

  const std::vector<ObserverRule> rules = {
      {.tensors = "mlp\\.gated$", .observer = ObserverKind::kPercentile, .percentile = 99.0},
      {.tensors = "layers", .observer = ObserverKind::kMovingAverageMinMax},  // not for gated
  };
  auto ranges = ComputeActivationRanges(c, ObserverKind::kMinMax, {}, rules);
  ASSERT_TRUE(ranges.ok()) << ranges.status().ToString();
  // percentile 99: the spike (1 of 2000 values) is clipped, the bulk kept.
  const ActivationRange& gated = ranges->at("layers.0.mlp.gated");
  EXPECT_LT(gated.max, 2.0f);
  EXPECT_GT(gated.max, 0.9f);
  // moving average of the batches' maxima (momentum 0.99): 0.99 * 1 + 0.01 * 50.
  const ActivationRange& q = ranges->at("layers.0.attn.q");
  EXPECT_NEAR(q.max, 1.49f, 1e-4f);
  // What was observed is kept whatever the observer.
  EXPECT_EQ(gated.observed_max, 50.0f);
}

TEST(ObserverRulesTest, RuleMatchingNoTensorIsAnError) {
  auto ranges = ComputeActivationRanges(
      TwoTensors(), ObserverKind::kMinMax, {},
      {{.tensors = "layers"}, {.tensors = "no_such_tensor", .observer = ObserverKind::kMse}});
  ASSERT_FALSE(ranges.ok());
  EXPECT_NE(ranges.status().message().find("observer rule 1 ('no_such_tensor')"), std::string::npos)
      << ranges.status().ToString();
}

TEST(ObserverRulesTest, RecipeFileSeparatesObserverAndWeightRules) {
  const std::string path = testing::TempDir() + "/observer_rules.json";
  std::ofstream(path) << R"({"recipe": "static_int8",
    "rules": [{"tensors": "layers\\.0\\.", "precision": "float"},
              {"tensors": "gated", "observer": "percentile", "percentile": 99.9},
              {"tensors": "attn", "observer": "mse"}]})";
  auto file = ReadRecipeFile(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_EQ(file->rules.size(), 1u);
  ASSERT_EQ(file->observer_rules.size(), 2u);
  EXPECT_EQ(file->observer_rules[0].tensors, "gated");
  EXPECT_EQ(file->observer_rules[0].observer, ObserverKind::kPercentile);
  EXPECT_EQ(file->observer_rules[0].percentile, 99.9);
  EXPECT_EQ(file->observer_rules[1].observer, ObserverKind::kMse);

  struct Case {
    const char* rule;
    const char* message;
  } cases[] = {
      {R"({"tensors": "x", "observer": "median"})", "unknown"},
      {R"({"tensors": "x", "observer": "minmax", "percentile": 99})", "percentile observer"},
      {R"({"tensors": "x", "observer": "percentile", "percentile": 101})", "(50, 100]"},
      {R"({"tensors": "x", "observer": "minmax", "precision": "int8"})", "unknown key"},
      {R"({"observer": "minmax"})", "needs \"tensors\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.rule);
    std::ofstream(path) << std::string(R"({"rules": [)") + c.rule + "]}";
    auto bad = ReadRecipeFile(path);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find(c.message), std::string::npos) << bad.status().ToString();
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace liteq::quant
