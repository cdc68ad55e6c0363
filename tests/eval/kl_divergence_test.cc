// The token-level comparison statistics on distributions small enough to compute by
// hand, and the accumulator's estimates on series with known means and variances.
#include "eval/kl_divergence.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace liteq::eval {
namespace {

TEST(CompareLogitRowsTest, IdenticalRowsGiveExactlyZero) {
  const std::vector<float> logits = {0.5f, -3.25f, 7.0f, 6.999f, -100.0f, 2.0f};
  for (int32_t target = 0; target < 6; ++target) {
    const TokenComparison c = CompareLogitRows(logits, logits, target);
    EXPECT_EQ(c.kl, 0.0);  // exactly, not approximately
    EXPECT_EQ(c.nll_reference, c.nll_quantized);
    EXPECT_EQ(c.p_reference, c.p_quantized);
    EXPECT_TRUE(c.same_top());
    EXPECT_EQ(c.top_reference, 2);
  }
}

TEST(CompareLogitRowsTest, TwoClassCaseMatchesTheHandComputedDivergence) {
  // Reference logits (0, ln 3): p = (1/4, 3/4). Quantized logits (0, 0): q = (1/2, 1/2).
  // KL(p || q) = 1/4 ln(1/2) + 3/4 ln(3/2) = 3/4 ln 3 - ln 2 = 0.130812035941137...
  const std::vector<float> reference = {0.0f, static_cast<float>(std::log(3.0))};
  const std::vector<float> quantized = {0.0f, 0.0f};
  const TokenComparison c = CompareLogitRows(reference, quantized, /*target=*/0);
  EXPECT_NEAR(c.kl, 0.75 * std::log(3.0) - std::log(2.0), 1e-7);  // ln 3 is stored as float
  // Exactly, with the float ln 3: p1 = e^a / (1 + e^a), KL = sum p_i ln(2 p_i).
  const double a = static_cast<float>(std::log(3.0));
  const double p1 = std::exp(a) / (1.0 + std::exp(a));
  const double p0 = 1.0 - p1;
  EXPECT_NEAR(c.kl, p0 * std::log(2.0 * p0) + p1 * std::log(2.0 * p1), 1e-12);
  EXPECT_NEAR(c.p_reference, 0.25, 1e-7);
  EXPECT_NEAR(c.p_quantized, 0.5, 1e-15);
  EXPECT_NEAR(c.nll_reference, std::log(4.0), 1e-7);
  EXPECT_NEAR(c.nll_quantized, std::log(2.0), 1e-15);
  EXPECT_EQ(c.top_reference, 1);
  EXPECT_EQ(c.top_quantized, 0);  // a tie: the lowest index wins
  EXPECT_FALSE(c.same_top());
}

TEST(CompareLogitRowsTest, KlIsDirectedFromTheReference) {
  // KL(q || p) of the case above = 1/2 ln(2) + 1/2 ln(2/3) = ln 2 - 1/2 ln 3 (different).
  const std::vector<float> p = {0.0f, static_cast<float>(std::log(3.0))};
  const std::vector<float> q = {0.0f, 0.0f};
  const double a = static_cast<float>(std::log(3.0));
  const double p1 = std::exp(a) / (1.0 + std::exp(a));
  const double kl_q_p = 0.5 * std::log(0.5 / (1.0 - p1)) + 0.5 * std::log(0.5 / p1);
  EXPECT_NEAR(CompareLogitRows(q, p, 0).kl, kl_q_p, 1e-12);
  EXPECT_NEAR(kl_q_p, std::log(2.0) - 0.5 * std::log(3.0), 1e-7);
}

TEST(CompareLogitRowsTest, ShiftedLogitsAreTheSameDistribution) {
  const std::vector<float> a = {1.0f, 2.0f, 3.0f};
  const std::vector<float> b = {11.0f, 12.0f, 13.0f};
  const TokenComparison c = CompareLogitRows(a, b, 1);
  EXPECT_NEAR(c.kl, 0.0, 1e-12);
  EXPECT_GE(c.kl, -1e-12);
  EXPECT_NEAR(c.p_reference, c.p_quantized, 1e-12);
}

TEST(CompareLogitRowsTest, ZeroReferenceMassContributesNothing) {
  // exp(-1000) underflows to 0 in double: that token adds 0, not 0 * inf = NaN.
  const std::vector<float> reference = {0.0f, -1000.0f};
  const std::vector<float> quantized = {0.0f, -INFINITY};
  const TokenComparison c = CompareLogitRows(reference, quantized, 0);
  EXPECT_EQ(c.kl, 0.0);
}

TEST(PercentileTest, InterpolatesBetweenRanks) {
  const std::vector<double> v = {1.0, 2.0, 3.0, 4.0, 5.0};
  EXPECT_EQ(Percentile(v, 0.0), 1.0);
  EXPECT_EQ(Percentile(v, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(Percentile(v, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(Percentile(v, 0.9), 4.6);  // rank 3.6
  const std::vector<double> even = {1.0, 2.0, 3.0, 10.0};
  EXPECT_DOUBLE_EQ(Percentile(even, 0.5), 2.5);  // the median of an even count
}

TEST(KlDivergenceAccumulatorTest, IdenticalModelsGiveRatioOneAndFullAgreement) {
  KlDivergenceAccumulator acc;
  const std::vector<std::vector<float>> rows = {{0.f, 1.f, 2.f}, {3.f, 1.f, 0.f}, {0.f, 0.f, 5.f}};
  const std::vector<int32_t> targets = {1, 0, 0};
  for (size_t i = 0; i < rows.size(); ++i) acc.Add(CompareLogitRows(rows[i], rows[i], targets[i]));
  const KlDivergenceStats s = acc.Finish();
  EXPECT_EQ(s.tokens, 3);
  EXPECT_EQ(s.kl.mean.value, 0.0);
  EXPECT_EQ(s.kl.max, 0.0);
  EXPECT_EQ(s.same_top.value, 1.0);
  EXPECT_EQ(s.same_top.std_error, 0.0);
  EXPECT_EQ(s.ppl_ratio.value, 1.0);
  EXPECT_EQ(s.ln_ppl_ratio.value, 0.0);
  EXPECT_NEAR(s.ln_ppl_ratio.std_error, 0.0, 1e-9);
  EXPECT_EQ(s.ppl_delta_percent, 0.0);
  EXPECT_EQ(s.delta_p_rms.value, 0.0);
  EXPECT_EQ(s.ppl_reference.value, s.ppl_quantized.value);
  // PPL = exp(mean NLL) with NLL_i = logsumexp(row_i) - row_i[target_i].
  double sum = 0.0;
  for (size_t i = 0; i < rows.size(); ++i) {
    double z = 0.0;
    for (float v : rows[i]) z += std::exp(static_cast<double>(v));
    sum += std::log(z) - rows[i][targets[i]];
  }
  EXPECT_NEAR(s.ppl_reference.value, std::exp(sum / 3.0), 1e-12);
}

TEST(KlDivergenceAccumulatorTest, EstimatesFollowTheStandardErrorOfTheMean) {
  // Four tokens with hand-set values: same-top on 3 of 4, KL values 0.1, 0.2, 0.3, 0.4.
  KlDivergenceAccumulator acc;
  const double kls[] = {0.1, 0.2, 0.3, 0.4};
  for (int i = 0; i < 4; ++i) {
    TokenComparison c;
    c.kl = kls[i];
    c.nll_reference = 1.0;
    c.nll_quantized = 1.0 + 0.1 * i;
    c.p_reference = 0.5;
    c.p_quantized = 0.5 + (i % 2 ? 0.1 : -0.1);  // Δp = ±0.1
    c.top_reference = 7;
    c.top_quantized = i == 3 ? 8 : 7;
    acc.Add(c);
  }
  const KlDivergenceStats s = acc.Finish();
  EXPECT_NEAR(s.kl.mean.value, 0.25, 1e-12);
  // Population variance 0.0125; standard error sqrt(0.0125 / 3).
  EXPECT_NEAR(s.kl.mean.std_error, std::sqrt(0.0125 / 3.0), 1e-12);
  EXPECT_NEAR(s.kl.mean.ci95_high - s.kl.mean.value, 1.959963984540054 * s.kl.mean.std_error,
              1e-12);
  EXPECT_NEAR(s.kl.median, 0.25, 1e-12);
  EXPECT_NEAR(s.kl.max, 0.4, 1e-12);
  EXPECT_NEAR(s.kl.p99, 0.4 - 0.01 * 3 * 0.1, 1e-12);  // rank 2.97
  EXPECT_NEAR(s.same_top.value, 0.75, 1e-12);
  EXPECT_NEAR(s.same_top.std_error, std::sqrt(0.75 * 0.25 / 3.0), 1e-12);
  EXPECT_NEAR(s.delta_p_rms.value, 0.1, 1e-9);
  EXPECT_NEAR(s.delta_p.mean.value, 0.0, 1e-12);
  // Mean NLL: reference 1, quantized 1.15 -> ratio exp(0.15); the reference NLL is
  // constant, so the ratio's error is the quantized series' error alone.
  EXPECT_NEAR(s.ln_ppl_ratio.value, 0.15, 1e-12);
  EXPECT_NEAR(s.ppl_ratio.value, std::exp(0.15), 1e-12);
  EXPECT_NEAR(s.ln_ppl_ratio.std_error, std::sqrt(0.0125 / 3.0) * 1.0, 1e-9);
  EXPECT_NEAR(s.ppl_delta_percent, 100.0 * (std::exp(0.15) - 1.0), 1e-9);
}

}  // namespace
}  // namespace liteq::eval
