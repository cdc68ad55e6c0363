#include "eval/kl_divergence.h"

#include <algorithm>
#include <cmath>

#include "liteq/status.h"

namespace liteq::eval {
namespace {

// z of the two-sided 95% interval of a normal distribution.
constexpr double kZ95 = 1.959963984540054;

struct RowSummary {
  double log_sum_exp = 0.0;
  int32_t argmax = 0;
};

RowSummary Summarize(std::span<const float> logits) {
  RowSummary s;
  float max_logit = logits[0];
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > max_logit) {  // strict: the lowest index wins ties
      max_logit = logits[i];
      s.argmax = static_cast<int32_t>(i);
    }
  }
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - max_logit);
  s.log_sum_exp = max_logit + std::log(sum);
  return s;
}

// Mean and standard error of the mean from running sums (llama.cpp's
// mean_and_uncertainty, with the error defined from 2 samples on).
Estimate MeanEstimate(double sum, double sum2, int64_t n) {
  Estimate e;
  const double mean = sum / static_cast<double>(n);
  const double var = sum2 / static_cast<double>(n) - mean * mean;
  e.value = mean;
  e.std_error = (var > 0.0 && n > 1) ? std::sqrt(var / static_cast<double>(n - 1)) : 0.0;
  e.ci95_low = mean - kZ95 * e.std_error;
  e.ci95_high = mean + kZ95 * e.std_error;
  return e;
}

// Covariance of the means of two series (llama.cpp's covariance()).
double MeanCovariance(double sum_a, double sum_b, double sum_ab, int64_t n) {
  if (n < 2) return 0.0;
  const double dn = static_cast<double>(n);
  return (sum_ab / dn - (sum_a / dn) * (sum_b / dn)) / (dn - 1.0);
}

// exp() of an estimate on the log scale: value exp(mean), error by the delta method
// (as llama.cpp), interval exp() of the log-scale interval (asymmetric, never negative).
Estimate Exponentiated(const Estimate& log_scale) {
  Estimate e;
  e.value = std::exp(log_scale.value);
  e.std_error = e.value * log_scale.std_error;
  e.ci95_low = std::exp(log_scale.ci95_low);
  e.ci95_high = std::exp(log_scale.ci95_high);
  return e;
}

Estimate WithSymmetricInterval(double value, double std_error) {
  return {value, std_error, value - kZ95 * std_error, value + kZ95 * std_error};
}

Distribution Describe(std::vector<double> values, const Estimate& mean) {
  std::sort(values.begin(), values.end());
  Distribution d;
  d.mean = mean;
  d.min = values.front();
  d.p01 = Percentile(values, 0.01);
  d.p05 = Percentile(values, 0.05);
  d.p10 = Percentile(values, 0.10);
  d.median = Percentile(values, 0.5);
  d.p90 = Percentile(values, 0.90);
  d.p95 = Percentile(values, 0.95);
  d.p99 = Percentile(values, 0.99);
  d.p999 = Percentile(values, 0.999);
  d.max = values.back();
  return d;
}

}  // namespace

TokenComparison CompareLogitRows(std::span<const float> reference, std::span<const float> quantized,
                                 int32_t target) {
  LITEQ_CHECK(!reference.empty() && reference.size() == quantized.size());
  LITEQ_CHECK(target >= 0 && static_cast<size_t>(target) < reference.size());
  const RowSummary ref = Summarize(reference);
  const RowSummary q = Summarize(quantized);
  TokenComparison c;
  double kl = 0.0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const double log_p_ref = static_cast<double>(reference[i]) - ref.log_sum_exp;
    const double log_p_q = static_cast<double>(quantized[i]) - q.log_sum_exp;
    const double p_ref = std::exp(log_p_ref);
    // A token the reference gives no mass contributes 0 (the limit of p log p), even
    // where the quantized model gives it none either (avoids 0 * inf).
    if (p_ref > 0.0) kl += p_ref * (log_p_ref - log_p_q);
  }
  c.kl = kl;
  c.nll_reference = ref.log_sum_exp - reference[target];
  c.nll_quantized = q.log_sum_exp - quantized[target];
  c.p_reference = std::exp(-c.nll_reference);
  c.p_quantized = std::exp(-c.nll_quantized);
  c.top_reference = ref.argmax;
  c.top_quantized = q.argmax;
  return c;
}

void KlDivergenceAccumulator::Add(const TokenComparison& c) {
  ++count_;
  if (c.same_top()) ++same_top_;
  sum_nll_ += c.nll_quantized;
  sum_nll2_ += c.nll_quantized * c.nll_quantized;
  sum_nll_ref_ += c.nll_reference;
  sum_nll_ref2_ += c.nll_reference * c.nll_reference;
  sum_nll_nll_ref_ += c.nll_quantized * c.nll_reference;
  sum_kl_ += c.kl;
  sum_kl2_ += c.kl * c.kl;
  const double dp = c.p_quantized - c.p_reference;
  sum_dp_ += dp;
  sum_dp2_ += dp * dp;
  sum_dp4_ += dp * dp * dp * dp;
  kl_values_.push_back(c.kl);
  delta_p_values_.push_back(dp);
}

KlDivergenceStats KlDivergenceAccumulator::Finish() const {
  LITEQ_CHECK(count_ >= 1);
  KlDivergenceStats s;
  s.tokens = count_;
  const Estimate log_ppl_q = MeanEstimate(sum_nll_, sum_nll2_, count_);
  const Estimate log_ppl_ref = MeanEstimate(sum_nll_ref_, sum_nll_ref2_, count_);
  s.ppl_quantized = Exponentiated(log_ppl_q);
  s.ppl_reference = Exponentiated(log_ppl_ref);
  const double cov = MeanCovariance(sum_nll_, sum_nll_ref_, sum_nll_nll_ref_, count_);
  const double se_product = log_ppl_q.std_error * log_ppl_ref.std_error;
  s.ppl_correlation = se_product > 0.0 ? cov / se_product : 0.0;
  // Var(a - b) = Var(a) + Var(b) - 2 Cov(a, b); clamped because identical series give 0
  // up to rounding.
  const double ratio_var = log_ppl_q.std_error * log_ppl_q.std_error +
                           log_ppl_ref.std_error * log_ppl_ref.std_error - 2.0 * cov;
  s.ln_ppl_ratio = WithSymmetricInterval(log_ppl_q.value - log_ppl_ref.value,
                                         std::sqrt(std::max(0.0, ratio_var)));
  s.ppl_ratio = Exponentiated(s.ln_ppl_ratio);
  const double ppl_cov = s.ppl_quantized.value * s.ppl_reference.value * cov;
  const double diff_var = s.ppl_quantized.std_error * s.ppl_quantized.std_error +
                          s.ppl_reference.std_error * s.ppl_reference.std_error - 2.0 * ppl_cov;
  s.ppl_difference = WithSymmetricInterval(s.ppl_quantized.value - s.ppl_reference.value,
                                           std::sqrt(std::max(0.0, diff_var)));
  s.ppl_delta_percent = 100.0 * (s.ppl_ratio.value - 1.0);

  s.kl = Describe(kl_values_, MeanEstimate(sum_kl_, sum_kl2_, count_));
  s.delta_p = Describe(delta_p_values_, MeanEstimate(sum_dp_, sum_dp2_, count_));
  // RMS Δp: sqrt of the mean squared Δp, its error by the delta method (as llama.cpp);
  // the interval is the square root of the mean square's interval.
  const Estimate mse = MeanEstimate(sum_dp2_, sum_dp4_, count_);
  s.delta_p_rms.value = std::sqrt(mse.value);
  s.delta_p_rms.std_error =
      s.delta_p_rms.value > 0.0 ? 0.5 / s.delta_p_rms.value * mse.std_error : 0.0;
  s.delta_p_rms.ci95_low = std::sqrt(std::max(0.0, mse.ci95_low));
  s.delta_p_rms.ci95_high = std::sqrt(std::max(0.0, mse.ci95_high));

  const double p = static_cast<double>(same_top_) / static_cast<double>(count_);
  const double se = count_ > 1 ? std::sqrt(p * (1.0 - p) / static_cast<double>(count_ - 1)) : 0.0;
  s.same_top = WithSymmetricInterval(p, se);
  s.same_top.ci95_low = std::max(0.0, s.same_top.ci95_low);
  s.same_top.ci95_high = std::min(1.0, s.same_top.ci95_high);
  return s;
}

double Percentile(std::span<const double> sorted, double fraction) {
  LITEQ_CHECK(!sorted.empty());
  if (fraction <= 0.0) return sorted.front();
  if (fraction >= 1.0) return sorted.back();
  const double rank = fraction * static_cast<double>(sorted.size() - 1);
  const size_t lower = static_cast<size_t>(rank);
  const size_t upper = std::min(lower + 1, sorted.size() - 1);
  const double weight = rank - static_cast<double>(lower);
  return (1.0 - weight) * sorted[lower] + weight * sorted[upper];
}

}  // namespace liteq::eval
