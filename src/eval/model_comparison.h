// Compares a (quantized) model against a reference model on the same inputs:
//  - teacher-forced: both run the same fixed evaluation windows (as EvaluatePerplexity,
//    each window alone from position 0) and every next-token distribution is compared
//    (kl_divergence.h statistics), one window at a time;
//  - free-running: both continue the same prompts greedily, each from its own output,
//    and the first generated position where they pick different tokens is reported.
#ifndef LITEQ_EVAL_MODEL_COMPARISON_H_
#define LITEQ_EVAL_MODEL_COMPARISON_H_

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/kl_divergence.h"
#include "generate/session.h"
#include "liteq/status.h"
#include "tokenizer/tokenizer.h"

namespace liteq::eval {

struct WindowComparison {
  KlDivergenceStats stats;
  std::vector<double> window_kl;  // mean KL per window
  size_t windows = 0;
  double seconds = 0.0;
};

// Feeds every window (>= 2 tokens) to both sessions (reset before each) and compares
// the logits of positions 0..n-2 against the next token. Both sessions must have the
// same vocabulary size and be distinct. Streaming: each session holds the logit rows of
// one prefill chunk at a time. `on_window(i)` is called after window i.
Result<WindowComparison> CompareOnWindows(generate::Session& reference,
                                          generate::Session& quantized,
                                          const std::vector<std::vector<int32_t>>& windows,
                                          const std::function<void(size_t)>& on_window = {});

struct GreedyDivergence {
  std::vector<int32_t> prompt;
  std::vector<int32_t> reference_ids;  // new tokens only
  std::vector<int32_t> quantized_ids;
  int first_divergence = -1;  // index into the new tokens; -1 = identical
  // At the first divergence (both models saw the same context): top-1 minus top-2
  // logit of each model. A small reference margin means a near tie.
  double reference_margin = 0.0;
  double quantized_margin = 0.0;
};

struct GreedyComparison {
  std::vector<GreedyDivergence> prompts;
  int new_tokens = 0;         // generated per prompt and model
  int identical_prompts = 0;  // prompts whose continuations are identical
  // Generated positions before the first divergence (new_tokens for identical
  // prompts), summed over prompts, over prompts * new_tokens.
  double agreeing_prefix_fraction = 0.0;
  double seconds = 0.0;
};

// Greedy continuations of `new_tokens` tokens per prompt with both models (no early
// stop at EOS, so both always produce the same count). Each prompt plus `new_tokens`
// must fit both models' max_seq.
Result<GreedyComparison> CompareGreedy(generate::Session& reference, generate::Session& quantized,
                                       const std::vector<std::vector<int32_t>>& prompts,
                                       int new_tokens,
                                       const std::function<void(size_t)>& on_prompt = {});

// Prompts from the first `count` non-empty texts: BOS (when `bos` >= 0) plus the text's
// tokens, at most `max_tokens` tokens in all. Texts that encode to nothing are skipped.
std::vector<std::vector<int32_t>> MakePrompts(const tokenizer::Tokenizer& tokenizer,
                                              const std::vector<std::string>& texts, int count,
                                              int max_tokens, int32_t bos);

// JSON of the results (stable keys). An Estimate is {"value", "std_error", "ci95": [lo, hi]}.
// Window comparison: tokens_scored, windows, seconds, perplexity {reference, quantized,
// ratio, ln_ratio, difference, delta_percent, correlation}, kl_divergence {mean, min,
// p01, p05, p10, median, p90, p95, p99, p999, max}, delta_p {same keys, plus rms},
// same_top, window_kl.
nlohmann::json EstimateToJson(const Estimate& e);
nlohmann::json WindowComparisonToJson(const WindowComparison& c);
// Greedy comparison: prompts, new_tokens, identical_prompts, agreeing_prefix_fraction,
// seconds, results [{prompt_ids, reference_ids, quantized_ids, first_divergence (null when
// identical), reference_margin, quantized_margin}].
nlohmann::json GreedyComparisonToJson(const GreedyComparison& c);

}  // namespace liteq::eval

#endif  // LITEQ_EVAL_MODEL_COMPARISON_H_
