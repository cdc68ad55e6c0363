#include "eval/perplexity.h"

#include <chrono>
#include <cmath>

namespace liteq::eval {

double LogSumExp(std::span<const float> logits) {
  float max_logit = logits[0];
  for (float v : logits) max_logit = v > max_logit ? v : max_logit;
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - max_logit);
  return max_logit + std::log(sum);
}

double MeanNextTokenNll(std::span<const float> logits, std::span<const int32_t> tokens,
                        int vocab) {
  LITEQ_CHECK(logits.size() == tokens.size() * static_cast<size_t>(vocab));
  LITEQ_CHECK(tokens.size() >= 2);
  double total = 0.0;
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    auto row = logits.subspan(i * vocab, vocab);
    total += LogSumExp(row) - row[tokens[i + 1]];
  }
  return total / static_cast<double>(tokens.size() - 1);
}

Result<PerplexityResult> EvaluatePerplexity(generate::Session& session,
                                            const std::vector<std::vector<int32_t>>& windows,
                                            const std::function<void(size_t)>& on_window) {
  if (windows.empty()) return InvalidArgumentError("no evaluation windows");
  const auto start = std::chrono::steady_clock::now();
  PerplexityResult result;
  std::vector<float> logits;
  const int vocab = session.shape().vocab_size;
  for (size_t w = 0; w < windows.size(); ++w) {
    const auto& window = windows[w];
    if (window.size() < 2) return InvalidArgumentError("window " + std::to_string(w) + " has fewer than 2 tokens");
    session.Reset();
    logits.clear();
    LITEQ_RETURN_IF_ERROR(session.Feed(window, &logits).WithContext("window " + std::to_string(w)));
    result.window_nll.push_back(MeanNextTokenNll(logits, window, vocab));
    result.tokens_scored += static_cast<int64_t>(window.size() - 1);
    if (on_window) on_window(w);
  }
  double sum = 0.0;
  for (double v : result.window_nll) sum += v;
  result.mean_nll = sum / static_cast<double>(result.window_nll.size());
  result.perplexity = std::exp(result.mean_nll);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace liteq::eval
