// Perplexity over fixed windows, as llama-perplexity and the reference do: each window
// is evaluated alone from position 0, and the NLL of every next token is averaged.
#ifndef LITEQ_EVAL_PERPLEXITY_H_
#define LITEQ_EVAL_PERPLEXITY_H_

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "generate/session.h"
#include "liteq/status.h"

namespace liteq::eval {

// log(sum(exp(logits))) computed stably in double.
double LogSumExp(std::span<const float> logits);

// Mean negative log-likelihood of tokens[i+1] given logits row i, i = 0..n-2.
// `logits` is row-major [tokens.size(), vocab].
double MeanNextTokenNll(std::span<const float> logits, std::span<const int32_t> tokens,
                        int vocab);

struct PerplexityResult {
  std::vector<double> window_nll;  // mean NLL per window
  double mean_nll = 0.0;           // mean over windows
  double perplexity = 0.0;         // exp(mean_nll)
  int64_t tokens_scored = 0;
  double seconds = 0.0;
};

// Runs every window through `session` (reset before each) and scores it.
// `on_window(i)` is called after window i (progress reporting).
Result<PerplexityResult> EvaluatePerplexity(generate::Session& session,
                                            const std::vector<std::vector<int32_t>>& windows,
                                            const std::function<void(size_t)>& on_window = {});

}  // namespace liteq::eval

#endif  // LITEQ_EVAL_PERPLEXITY_H_
