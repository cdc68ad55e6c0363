// quant::Calibrate's observer batches on a real (tiny) model: each calibration sample,
// prefill plus decode steps, is one batch of the moving-average observer.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "model/model.h"
#include "quant/calibration.h"

namespace liteq::quant {
namespace {

std::shared_ptr<const graph::Model> Stories260K() {
  auto ckpt = io::Checkpoint::Open(std::string(LITEQ_MODELS_DIR) + "/stories260K/stories260K.bin");
  EXPECT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  if (!ckpt.ok()) return nullptr;
  model::ExportOptions options;
  options.prefill_lengths = {8};
  options.max_seq = 32;
  auto model = model::BuildModel(std::move(ckpt).value(), options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return nullptr;
  return std::make_shared<const graph::Model>(std::move(model).value());
}

TEST(CalibrationBatchesTest, EachSampleIsOneMovingAverageBatch) {
  const auto model = Stories260K();
  ASSERT_NE(model, nullptr);
  // Long samples: prefill 8 + 4 decode steps; a short one: 3 decode steps.
  const std::vector<std::vector<int32_t>> samples = {
      {1, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150},
      {1, 300, 301},
      {1, 400, 17, 9, 250, 251, 252, 253, 254, 255, 256, 257},
      {1, 33, 44, 55, 66, 77, 88, 99, 111, 222, 333, 444}};
  CalibrationOptions options;
  options.decode_tokens = 4;
  auto all = Calibrate(model, samples, options);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->samples, 4);
  EXPECT_EQ(all->prefill_tokens, 3 * 8);
  EXPECT_EQ(all->decode_tokens, 3 * 4 + 3);
  // The moving average over samples, from each sample's own min/max (the sample
  // calibrated alone). With 0.99 the weights are 0.99^3, 0.01 * 0.99^2, ...
  std::vector<CalibrationResult> single;
  for (const auto& s : samples) {
    auto one = Calibrate(model, {s}, options);
    ASSERT_TRUE(one.ok()) << one.status().ToString();
    single.push_back(std::move(one).value());
  }
  int checked = 0;
  for (const auto& [name, t] : all->tensors) {
    if (t.stats.count() == 0) continue;
    ASSERT_EQ(t.stats.batches(), samples.size()) << name;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < single.size(); ++i) {
      const TensorStats& s = single[i].tensors.at(name).stats;
      lo = i == 0 ? s.min() : 0.99 * lo + 0.01 * s.min();
      hi = i == 0 ? s.max() : 0.99 * hi + 0.01 * s.max();
    }
    EXPECT_NEAR(t.stats.moving_min(), lo, 1e-5 * std::max(1.0, std::abs(lo))) << name;
    EXPECT_NEAR(t.stats.moving_max(), hi, 1e-5 * std::max(1.0, std::abs(hi))) << name;
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace liteq::quant
