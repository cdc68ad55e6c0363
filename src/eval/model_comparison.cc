#include "eval/model_comparison.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <span>

#include "generate/sampler.h"

namespace liteq::eval {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Status CheckSameVocabulary(const generate::Session& reference, const generate::Session& quantized) {
  if (reference.shape().vocab_size != quantized.shape().vocab_size) {
    return InvalidArgumentError("the models' vocabularies differ: reference " +
                                std::to_string(reference.shape().vocab_size) +
                                " tokens, quantized " +
                                std::to_string(quantized.shape().vocab_size));
  }
  return Status::Ok();
}

// Largest minus second largest logit (0 for a single-entry row).
double TopTwoMargin(std::span<const float> logits) {
  float first = -std::numeric_limits<float>::infinity();
  float second = first;
  for (float v : logits) {
    if (v > first) {
      second = first;
      first = v;
    } else if (v > second) {
      second = v;
    }
  }
  return logits.size() < 2 ? 0.0 : static_cast<double>(first) - second;
}

// The logit rows of one window, produced a chunk at a time: the window is fed in pieces
// of the session's longest prefill signature (the pieces Session::Feed would run for
// the whole window, so the logits are the same), and only the current piece's rows are
// held, so memory does not grow with the window length times the vocabulary.
class LogitRowStream {
 public:
  LogitRowStream(generate::Session& session, std::string name)
      : session_(session), name_(std::move(name)) {
    const auto& prefill = session.shape().prefill;
    chunk_ = prefill.empty() ? 1 : static_cast<size_t>(prefill.back().length);
    vocab_ = static_cast<size_t>(session.shape().vocab_size);
  }

  void Start(std::span<const int32_t> window) {
    session_.Reset();
    window_ = window;
    fed_ = 0;
    first_row_ = 0;
    rows_.clear();
  }

  // Row `i` of the window; rows are requested in increasing order.
  Status Row(size_t i, std::span<const float>* row) {
    LITEQ_CHECK(i >= first_row_ && i < window_.size());
    while (i >= fed_) {
      first_row_ = fed_;
      rows_.clear();
      const size_t n = std::min(chunk_, window_.size() - fed_);
      Status fed = session_.Feed(window_.subspan(fed_, n), &rows_);
      if (!fed.ok()) return fed.WithContext(name_);
      fed_ += n;
    }
    *row = std::span<const float>(rows_.data() + (i - first_row_) * vocab_, vocab_);
    return Status::Ok();
  }

 private:
  generate::Session& session_;
  std::string name_;
  size_t chunk_ = 1;
  size_t vocab_ = 0;
  std::span<const int32_t> window_;
  size_t fed_ = 0;        // tokens of the window fed so far
  size_t first_row_ = 0;  // window position of rows_[0]
  std::vector<float> rows_;
};

}  // namespace

Result<WindowComparison> CompareOnWindows(generate::Session& reference,
                                          generate::Session& quantized,
                                          const std::vector<std::vector<int32_t>>& windows,
                                          const std::function<void(size_t)>& on_window) {
  if (windows.empty()) return InvalidArgumentError("no evaluation windows");
  LITEQ_RETURN_IF_ERROR(CheckSameVocabulary(reference, quantized));
  const auto start = std::chrono::steady_clock::now();
  WindowComparison result;
  KlDivergenceAccumulator accumulator;
  LogitRowStream reference_rows(reference, "reference model");
  LogitRowStream quantized_rows(quantized, "quantized model");
  for (size_t w = 0; w < windows.size(); ++w) {
    const std::vector<int32_t>& window = windows[w];
    const std::string where = "window " + std::to_string(w);
    if (window.size() < 2) return InvalidArgumentError(where + " has fewer than 2 tokens");
    reference_rows.Start(window);
    quantized_rows.Start(window);
    double window_kl = 0.0;
    for (size_t i = 0; i + 1 < window.size(); ++i) {
      std::span<const float> ref_row;
      std::span<const float> q_row;
      LITEQ_RETURN_IF_ERROR(reference_rows.Row(i, &ref_row).WithContext(where));
      LITEQ_RETURN_IF_ERROR(quantized_rows.Row(i, &q_row).WithContext(where));
      const TokenComparison c = CompareLogitRows(ref_row, q_row, window[i + 1]);
      accumulator.Add(c);
      window_kl += c.kl;
    }
    result.window_kl.push_back(window_kl / static_cast<double>(window.size() - 1));
    if (on_window) on_window(w);
  }
  result.stats = accumulator.Finish();
  result.windows = windows.size();
  result.seconds = SecondsSince(start);
  return result;
}

Result<GreedyComparison> CompareGreedy(generate::Session& reference, generate::Session& quantized,
                                       const std::vector<std::vector<int32_t>>& prompts,
                                       int new_tokens,
                                       const std::function<void(size_t)>& on_prompt) {
  LITEQ_RETURN_IF_ERROR(CheckSameVocabulary(reference, quantized));
  if (new_tokens < 1) return InvalidArgumentError("the number of new tokens must be >= 1");
  const auto start = std::chrono::steady_clock::now();
  const int max_seq = std::min(reference.shape().max_seq, quantized.shape().max_seq);
  GreedyComparison result;
  result.new_tokens = new_tokens;
  int64_t agreeing = 0;
  for (size_t p = 0; p < prompts.size(); ++p) {
    const std::vector<int32_t>& prompt = prompts[p];
    const std::string where = "prompt " + std::to_string(p);
    if (prompt.empty()) return InvalidArgumentError(where + " has no tokens");
    if (static_cast<int64_t>(prompt.size()) + new_tokens > max_seq) {
      return OutOfRangeError(where + " (" + std::to_string(prompt.size()) + " tokens) plus " +
                             std::to_string(new_tokens) + " new tokens exceeds max_seq " +
                             std::to_string(max_seq));
    }
    reference.Reset();
    quantized.Reset();
    LITEQ_RETURN_IF_ERROR(reference.Feed(prompt).WithContext(where + ", reference model"));
    LITEQ_RETURN_IF_ERROR(quantized.Feed(prompt).WithContext(where + ", quantized model"));
    GreedyDivergence d;
    d.prompt = prompt;
    for (int i = 0; i < new_tokens; ++i) {
      const int32_t ref_next = generate::Argmax(reference.last_logits());
      const int32_t q_next = generate::Argmax(quantized.last_logits());
      if (ref_next != q_next && d.first_divergence < 0) {
        d.first_divergence = i;
        d.reference_margin = TopTwoMargin(reference.last_logits());
        d.quantized_margin = TopTwoMargin(quantized.last_logits());
      }
      d.reference_ids.push_back(ref_next);
      d.quantized_ids.push_back(q_next);
      if (i + 1 == new_tokens) break;
      // Free-running: each model continues from its own choice.
      const int32_t ref_one[1] = {ref_next};
      const int32_t q_one[1] = {q_next};
      LITEQ_RETURN_IF_ERROR(reference.Feed(ref_one).WithContext(where + ", reference model"));
      LITEQ_RETURN_IF_ERROR(quantized.Feed(q_one).WithContext(where + ", quantized model"));
    }
    if (d.first_divergence < 0) ++result.identical_prompts;
    agreeing += d.first_divergence < 0 ? new_tokens : d.first_divergence;
    result.prompts.push_back(std::move(d));
    if (on_prompt) on_prompt(p);
  }
  if (!prompts.empty()) {
    result.agreeing_prefix_fraction =
        static_cast<double>(agreeing) / (static_cast<double>(prompts.size()) * new_tokens);
  }
  result.seconds = SecondsSince(start);
  return result;
}

std::vector<std::vector<int32_t>> MakePrompts(const tokenizer::Tokenizer& tokenizer,
                                              const std::vector<std::string>& texts, int count,
                                              int max_tokens, int32_t bos) {
  std::vector<std::vector<int32_t>> prompts;
  for (const std::string& text : texts) {
    if (static_cast<int>(prompts.size()) >= count) break;
    std::vector<int32_t> ids = tokenizer.Encode(text, /*add_special=*/false);
    if (ids.empty()) continue;
    std::vector<int32_t> prompt;
    if (bos >= 0) prompt.push_back(bos);
    for (int32_t id : ids) {
      if (static_cast<int>(prompt.size()) >= max_tokens) break;
      prompt.push_back(id);
    }
    prompts.push_back(std::move(prompt));
  }
  return prompts;
}

nlohmann::json EstimateToJson(const Estimate& e) {
  return {{"value", e.value}, {"std_error", e.std_error}, {"ci95", {e.ci95_low, e.ci95_high}}};
}

namespace {

nlohmann::json DistributionToJson(const Distribution& d) {
  return {{"mean", EstimateToJson(d.mean)},
          {"min", d.min},
          {"p01", d.p01},
          {"p05", d.p05},
          {"p10", d.p10},
          {"median", d.median},
          {"p90", d.p90},
          {"p95", d.p95},
          {"p99", d.p99},
          {"p999", d.p999},
          {"max", d.max}};
}

}  // namespace

nlohmann::json WindowComparisonToJson(const WindowComparison& c) {
  const KlDivergenceStats& s = c.stats;
  nlohmann::json delta_p = DistributionToJson(s.delta_p);
  delta_p["rms"] = EstimateToJson(s.delta_p_rms);
  return {{"tokens_scored", s.tokens},
          {"windows", c.windows},
          {"seconds", c.seconds},
          {"perplexity",
           {{"reference", EstimateToJson(s.ppl_reference)},
            {"quantized", EstimateToJson(s.ppl_quantized)},
            {"ratio", EstimateToJson(s.ppl_ratio)},
            {"ln_ratio", EstimateToJson(s.ln_ppl_ratio)},
            {"difference", EstimateToJson(s.ppl_difference)},
            {"delta_percent", s.ppl_delta_percent},
            {"correlation", s.ppl_correlation}}},
          {"kl_divergence", DistributionToJson(s.kl)},
          {"delta_p", delta_p},
          {"same_top", EstimateToJson(s.same_top)},
          {"window_kl", c.window_kl}};
}

nlohmann::json GreedyComparisonToJson(const GreedyComparison& c) {
  nlohmann::json results = nlohmann::json::array();
  for (const GreedyDivergence& d : c.prompts) {
    results.push_back(
        {{"prompt_ids", d.prompt},
         {"reference_ids", d.reference_ids},
         {"quantized_ids", d.quantized_ids},
         {"first_divergence",
          d.first_divergence < 0 ? nlohmann::json(nullptr) : nlohmann::json(d.first_divergence)},
         {"reference_margin", d.reference_margin},
         {"quantized_margin", d.quantized_margin}});
  }
  return {{"prompts", c.prompts.size()},
          {"new_tokens", c.new_tokens},
          {"identical_prompts", c.identical_prompts},
          {"agreeing_prefix_fraction", c.agreeing_prefix_fraction},
          {"seconds", c.seconds},
          {"results", results}};
}

}  // namespace liteq::eval
