// Token-level comparison of two models' next-token distributions, with the statistics
// llama.cpp's `llama-perplexity --kl-divergence` reports (tools/perplexity/perplexity.cpp,
// kl_divergence()): perplexity of both models and their ratio, KL divergence of the
// quantized distribution from the reference one, the change in the probability of the
// actual next token (Δp), and how often the two models' top-1 tokens agree ("same top p").
//
// Conventions (all as llama.cpp):
//   KL = sum_i p_ref(i) * (log p_ref(i) - log p_q(i)), natural log, >= 0;
//   Δp = p_q(target) - p_ref(target) for the token that actually comes next;
//   uncertainties are the standard error of the mean, sqrt((E[x^2] - E[x]^2) / (n - 1));
//   ln(PPL_q / PPL_ref) uses the covariance of the two NLL series.
// liteq additionally gives 95% confidence intervals as value ± 1.96 standard errors
// (normal approximation over the scored tokens).
// Everything is computed in double from float logits with a stable log-softmax.
#ifndef LITEQ_EVAL_KL_DIVERGENCE_H_
#define LITEQ_EVAL_KL_DIVERGENCE_H_

#include <cstdint>
#include <span>
#include <vector>

namespace liteq::eval {

// One scored position: the reference and quantized logit rows of the same context.
struct TokenComparison {
  double kl = 0.0;             // KL(P_ref || P_q), nats
  double nll_reference = 0.0;  // -log p_ref(target)
  double nll_quantized = 0.0;  // -log p_q(target)
  double p_reference = 0.0;    // p_ref(target)
  double p_quantized = 0.0;    // p_q(target)
  int32_t top_reference = -1;  // argmax, lowest index on ties
  int32_t top_quantized = -1;
  bool same_top() const { return top_reference == top_quantized; }
};

// Compares two logit rows of equal, non-zero length; `target` indexes both.
// Identical rows give exactly KL 0, Δp 0 and the same top-1 token.
TokenComparison CompareLogitRows(std::span<const float> reference, std::span<const float> quantized,
                                 int32_t target);

// A mean with its standard error and 95% confidence interval.
struct Estimate {
  double value = 0.0;
  double std_error = 0.0;
  double ci95_low = 0.0;
  double ci95_high = 0.0;
};

// The distribution of a per-token quantity over all scored tokens.
struct Distribution {
  Estimate mean;
  double min = 0.0;
  double p01 = 0.0;  // 1st percentile
  double p05 = 0.0;
  double p10 = 0.0;
  double median = 0.0;
  double p90 = 0.0;
  double p95 = 0.0;
  double p99 = 0.0;
  double p999 = 0.0;  // 99.9th percentile
  double max = 0.0;
};

struct KlDivergenceStats {
  int64_t tokens = 0;
  Estimate ppl_reference;
  Estimate ppl_quantized;
  double ppl_correlation = 0.0;    // Cor(ln PPL_q, ln PPL_ref) of the mean NLLs
  Estimate ln_ppl_ratio;           // ln(PPL_q / PPL_ref)
  Estimate ppl_ratio;              // PPL_q / PPL_ref
  Estimate ppl_difference;         // PPL_q - PPL_ref
  double ppl_delta_percent = 0.0;  // 100 * (PPL_q / PPL_ref - 1)
  Distribution kl;
  Distribution delta_p;  // p_q(target) - p_ref(target), as a fraction (not %)
  Estimate delta_p_rms;  // sqrt(mean(Δp^2))
  Estimate same_top;     // fraction of positions whose top-1 tokens agree
};

// Collects per-token comparisons (one double pair per token is kept for the percentiles;
// logit rows are not) and turns them into the statistics.
class KlDivergenceAccumulator {
 public:
  void Add(const TokenComparison& c);
  int64_t count() const { return count_; }
  // Requires count() >= 1; standard errors are 0 below 2 tokens (llama.cpp: below 11).
  KlDivergenceStats Finish() const;

 private:
  int64_t count_ = 0;
  int64_t same_top_ = 0;
  double sum_nll_ = 0.0, sum_nll2_ = 0.0;
  double sum_nll_ref_ = 0.0, sum_nll_ref2_ = 0.0;
  double sum_nll_nll_ref_ = 0.0;
  double sum_kl_ = 0.0, sum_kl2_ = 0.0;
  double sum_dp_ = 0.0, sum_dp2_ = 0.0, sum_dp4_ = 0.0;
  std::vector<double> kl_values_;
  std::vector<double> delta_p_values_;
};

// Linear interpolation between the closest ranks of sorted values (llama.cpp's
// percentile()): fraction 0 = min, 1 = max. `sorted` must be non-empty.
double Percentile(std::span<const double> sorted, double fraction);

}  // namespace liteq::eval

#endif  // LITEQ_EVAL_KL_DIVERGENCE_H_
