#include "quant/observers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "quant/quant_params.h"

namespace liteq::quant {
namespace {

// Mean squared error of really quantizing `values` with int8 params from `range`.
double MeasuredMse(const std::vector<float>& values, Range range) {
  auto p = ChooseInt8ActivationParams(range.min, range.max);
  EXPECT_TRUE(p.ok());
  double sum = 0;
  for (float v : values) {
    const double e = DequantizeValue(QuantizeValue(v, *p, -128, 127), *p) - v;
    sum += e * e;
  }
  return sum / static_cast<double>(values.size());
}

std::vector<float> GaussianWithOutliers() {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  // Rare outliers: one in 500000 per tail. (With much more frequent outliers the
  // MSE-optimal int8 range really does keep them: clipping an outlier at 40 costs
  // ~40^2 while rounding noise is only (80/255)^2/12 per value.)
  std::vector<float> v(1000000);
  for (float& x : v) x = dist(rng);
  v[1000] = 40.0f;
  v[2000] = -41.0f;
  return v;
}

Range MustCompute(const TensorStats& s, ObserverKind kind, ObserverOptions o = {}) {
  auto r = ComputeRange(s, kind, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Range{};
}

TEST(ObserversTest, MinMaxAndMovingAverage) {
  TensorStats stats;
  stats.Observe(std::vector<float>{-1.0f, 0.5f, 1.0f});
  stats.Observe(std::vector<float>{-0.5f, 2.0f, NAN, INFINITY});
  EXPECT_EQ(stats.count(), 5u);
  EXPECT_EQ(stats.nonfinite_count(), 2u);
  const Range mm = MustCompute(stats, ObserverKind::kMinMax);
  EXPECT_EQ(mm.min, -1.0f);
  EXPECT_EQ(mm.max, 2.0f);
  const Range ma = MustCompute(stats, ObserverKind::kMovingAverageMinMax);
  EXPECT_NEAR(ma.min, 0.99 * -1.0 + 0.01 * -0.5, 1e-6);
  EXPECT_NEAR(ma.max, 0.99 * 1.0 + 0.01 * 2.0, 1e-6);
}

TEST(ObserversTest, MovingAverageTakesOneMinMaxPerBatchNotPerPart) {
  // Calibration observes a sample's prefill and decode steps as parts of one batch:
  // the average must see the batch's extremes (-3, 4), not the last part's.
  TensorStats stats;
  stats.Observe(std::vector<float>{-1.0f, 1.0f});
  stats.ObservePart(std::vector<float>{-3.0f, 0.0f});
  stats.ObservePart(std::vector<float>{4.0f});
  stats.ObservePart(std::vector<float>{0.5f});
  EXPECT_NEAR(stats.moving_max(), 0.99 * 1.0 + 0.01 * 4.0, 1e-6);  // open batch counts
  stats.EndBatch();
  stats.EndBatch();  // an empty batch changes nothing
  EXPECT_EQ(stats.batches(), 2u);
  EXPECT_EQ(stats.count(), 6u);
  const Range ma = MustCompute(stats, ObserverKind::kMovingAverageMinMax);
  EXPECT_NEAR(ma.min, 0.99 * -1.0 + 0.01 * -3.0, 1e-6);
  EXPECT_NEAR(ma.max, 0.99 * 1.0 + 0.01 * 4.0, 1e-6);
  // Observing the same values as four batches gives another (narrower) average.
  TensorStats per_part;
  for (const std::vector<float>& b :
       std::vector<std::vector<float>>{{-1.0f, 1.0f}, {-3.0f, 0.0f}, {4.0f}, {0.5f}}) {
    per_part.Observe(b);
  }
  EXPECT_EQ(per_part.batches(), 4u);
  EXPECT_LT(per_part.moving_max(), stats.moving_max() - 0.01);
}

TEST(ObserversTest, EmptyStatsAreAnError) {
  TensorStats stats;
  stats.Observe(std::vector<float>{NAN});
  EXPECT_FALSE(ComputeRange(stats, ObserverKind::kMinMax).ok());
  EXPECT_FALSE(ParseObserverKind("median").ok());
  EXPECT_EQ(*ParseObserverKind("kl"), ObserverKind::kKl);
}

TEST(ObserversTest, PercentileOfUniform) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-2.0f, 6.0f);
  std::vector<float> v(400000);
  for (float& x : v) x = dist(rng);
  TensorStats stats;
  stats.Observe(v);
  ObserverOptions o;
  o.percentile = 99.0;
  const Range r = MustCompute(stats, ObserverKind::kPercentile, o);
  EXPECT_NEAR(r.min, -2.0 + 0.08, 0.01);
  EXPECT_NEAR(r.max, 6.0 - 0.08, 0.01);
}

TEST(ObserversTest, ClippingObserversRemoveOutliersMinMaxKeepsThem) {
  const std::vector<float> v = GaussianWithOutliers();
  TensorStats stats;
  // Several batches, so the histogram also grows along the way.
  for (size_t i = 0; i < v.size(); i += 250000) {
    stats.Observe(std::span<const float>(v).subspan(i, 250000));
  }
  const Range minmax = MustCompute(stats, ObserverKind::kMinMax);
  EXPECT_EQ(minmax.max, 40.0f);
  EXPECT_EQ(minmax.min, -41.0f);
  for (ObserverKind kind : {ObserverKind::kPercentile, ObserverKind::kMse, ObserverKind::kKl}) {
    const Range r = MustCompute(stats, kind);
    SCOPED_TRACE(ObserverKindName(kind));
    EXPECT_LT(r.max, 20.0f);  // outliers at 40 and -41 are clipped
    EXPECT_GT(r.min, -20.0f);
    EXPECT_GT(r.max, 2.5f);  // still keeps the bulk of N(0, 1)
    EXPECT_LT(r.min, -2.5f);
  }
  const double mse_minmax = MeasuredMse(v, minmax);
  const double mse_mse = MeasuredMse(v, MustCompute(stats, ObserverKind::kMse));
  EXPECT_LT(mse_mse, mse_minmax);
  // The histogram model of the error agrees with the measurement (within 25%).
  const Range mr = MustCompute(stats, ObserverKind::kMse);
  EXPECT_NEAR(ExpectedQuantizationMse(stats.histogram(), mr.min, mr.max, 8), mse_mse,
              0.25 * mse_mse);
}

TEST(ObserversTest, MseOnUniformKeepsNearlyTheFullRange) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(100000);
  for (float& x : v) x = dist(rng);
  TensorStats stats;
  stats.Observe(v);
  const Range r = MustCompute(stats, ObserverKind::kMse);
  EXPECT_GT(r.max, 0.97f);
  EXPECT_LT(r.min, -0.97f);
}

// Entropy calibration on histograms whose right answer is known.
TEST(KlObserverTest, GaussianWithFarOutliersClipsTheOutliersOnly) {
  const std::vector<float> v = GaussianWithOutliers();  // N(0, 1) and +40, -41
  TensorStats stats;
  stats.Observe(v);
  const Range r = MustCompute(stats, ObserverKind::kKl);
  EXPECT_LT(r.max, 20.0f);
  EXPECT_GT(r.min, -20.0f);
  // Keeps more than 3 sigma: clipping at 3 sigma would already move 0.27% of values.
  EXPECT_GT(r.max, 3.0f);
  EXPECT_LT(r.min, -3.0f);
}

TEST(KlObserverTest, OffsetTensorKeepsItsBulk) {
  // Values far from 0 (x^2 + eps of RMSNorm, an RSQRT): the grid is [0, T] and T
  // must cover the data. TensorRT's KL alone chose [1.3, 1.303] here (observers.cc).
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(1.3f, 12.3f);
  std::vector<float> v(200000);
  for (float& x : v) x = dist(rng);
  TensorStats stats;
  stats.Observe(v);
  const Range r = MustCompute(stats, ObserverKind::kKl);
  EXPECT_EQ(r.min, stats.min());
  EXPECT_GT(r.max, 12.0f);
}

TEST(KlObserverTest, RopeTableIsNotClipped) {
  // sin(pos * 10000^(-d/32)) for 128 positions: most values are near 0 (slow
  // frequencies) but +-1 matter. TensorRT's KL alone clipped this at +-0.25.
  std::vector<float> v;
  for (int pos = 0; pos < 128; ++pos) {
    for (int d = 0; d < 32; ++d) v.push_back(std::sin(pos * std::pow(10000.0f, -d / 32.0f)));
  }
  TensorStats stats;
  stats.Observe(v);
  const Range r = MustCompute(stats, ObserverKind::kKl);
  EXPECT_GT(r.max, 0.99f);
  EXPECT_LT(r.min, -0.99f);
  // Without the floor the search is TensorRT's and does clip it.
  ObserverOptions tensorrt;
  tensorrt.kl_min_kept_percent = 0.0;
  EXPECT_LT(MustCompute(stats, ObserverKind::kKl, tensorrt).max, 0.5f);
}

TEST(KlObserverTest, OneSidedTensorUsesAllLevels) {
  // Exponential(1) with 1e6 samples: the tail beyond the 99.99% point (9.2) holds
  // 100 values; KL may clip some of them, never below the floor.
  std::mt19937 rng(8);
  std::exponential_distribution<float> dist(1.0f);
  std::vector<float> v(1000000);
  for (float& x : v) x = dist(rng);
  TensorStats stats;
  stats.Observe(v);
  const Range r = MustCompute(stats, ObserverKind::kKl);
  EXPECT_EQ(r.min, stats.min());
  EXPECT_GT(r.max, 9.0f);
  EXPECT_LE(r.max, stats.max());
  ObserverOptions bad;
  bad.kl_min_kept_percent = 101;
  EXPECT_FALSE(ComputeRange(stats, ObserverKind::kKl, bad).ok());
}

TEST(HistogramTest, RebinningIsExact) {
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> first(-1.0f, 1.0f);
  std::uniform_real_distribution<float> second(-3.0f, 5.0f);
  std::vector<float> a(50000), b(50000);
  for (float& x : a) x = first(rng);
  for (float& x : b) x = second(rng);
  TensorStats two;
  two.Observe(a);
  two.Observe(b);
  const Histogram& h = two.histogram();
  ASSERT_EQ(h.total(), 100000u);
  EXPECT_LE(h.lower(), -3.0);
  EXPECT_GE(h.upper(), 5.0);
  // Binning every value directly into the final grid gives the same counts
  // (up to values lying within rounding error of a bin edge).
  std::vector<uint64_t> direct(static_cast<size_t>(h.num_bins()), 0);
  for (const auto* batch : {&a, &b}) {
    for (float x : *batch) {
      const int i = std::clamp(static_cast<int>(std::floor((x - h.lower()) / h.bin_width())), 0,
                               h.num_bins() - 1);
      ++direct[static_cast<size_t>(i)];
    }
  }
  uint64_t mismatch = 0;
  for (size_t i = 0; i < direct.size(); ++i) {
    mismatch += direct[i] > h.counts()[i] ? direct[i] - h.counts()[i] : h.counts()[i] - direct[i];
  }
  EXPECT_LE(mismatch, 4u);
  // And observers agree with observing everything at once within two bin widths.
  std::vector<float> all = a;
  all.insert(all.end(), b.begin(), b.end());
  TensorStats one;
  one.Observe(all);
  for (double pct : {90.0, 99.0, 99.9}) {
    ObserverOptions o;
    o.percentile = pct;
    const Range r2 = MustCompute(two, ObserverKind::kPercentile, o);
    const Range r1 = MustCompute(one, ObserverKind::kPercentile, o);
    EXPECT_NEAR(r2.max, r1.max, 2 * h.bin_width());
    EXPECT_NEAR(r2.min, r1.min, 2 * h.bin_width());
  }
}

TEST(HistogramTest, ConstantFirstBatchThenWideBatch) {
  TensorStats stats;
  stats.Observe(std::vector<float>(10, 0.0f));
  stats.Observe(std::vector<float>{-100.0f, 100.0f});
  EXPECT_EQ(stats.histogram().total(), 12u);
  EXPECT_LE(stats.histogram().lower(), -100.0);
  EXPECT_GE(stats.histogram().upper(), 100.0);
  ObserverOptions o;
  o.percentile = 60.0;
  const Range r = MustCompute(stats, ObserverKind::kPercentile, o);
  EXPECT_LT(std::abs(r.max), 2 * stats.histogram().bin_width());
}

}  // namespace
}  // namespace liteq::quant
