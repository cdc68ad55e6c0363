#include "generate/sampler.h"

#include <algorithm>
#include <cmath>

namespace liteq::generate {

Status ValidateSamplerOptions(const SamplerOptions& o) {
  if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature)) {
    return InvalidArgumentError("temperature must be a finite number >= 0");
  }
  if (o.top_k < 0) return InvalidArgumentError("top-k must be >= 0");
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f)) {
    return InvalidArgumentError("top-p must be in (0, 1]");
  }
  return Status::Ok();
}

int32_t Argmax(std::span<const float> logits) {
  LITEQ_CHECK(!logits.empty());
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

Sampler::Sampler(SamplerOptions options) : options_(options), rng_(options.seed) {}

int32_t Sampler::Sample(std::span<const float> logits) {
  if (options_.temperature == 0.0f) return Argmax(logits);
  const int32_t n = static_cast<int32_t>(logits.size());
  candidates_.resize(n);
  for (int32_t i = 0; i < n; ++i) candidates_[i] = {logits[i], i};
  // Highest logits first; ties by lower id so the order is deterministic.
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  int32_t keep = options_.top_k > 0 ? std::min(options_.top_k, n) : n;
  std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(),
                    by_logit);
  candidates_.resize(keep);

  // Softmax over the kept candidates at the given temperature (max subtracted).
  const float max_logit = candidates_[0].first;
  double total = 0.0;
  for (auto& c : candidates_) {
    c.first = static_cast<float>(std::exp((c.first - max_logit) / options_.temperature));
    total += c.first;
  }
  // Nucleus: the smallest prefix whose probability mass reaches top_p.
  if (options_.top_p < 1.0f) {
    double mass = 0.0;
    size_t cut = candidates_.size();
    for (size_t i = 0; i < candidates_.size(); ++i) {
      mass += candidates_[i].first / total;
      if (mass >= options_.top_p) {
        cut = i + 1;
        break;
      }
    }
    candidates_.resize(cut);
    total = 0.0;
    for (const auto& c : candidates_) total += c.first;
  }
  std::uniform_real_distribution<double> uniform(0.0, total);
  double r = uniform(rng_);
  for (const auto& c : candidates_) {
    r -= c.first;
    if (r <= 0.0) return c.second;
  }
  return candidates_.back().second;
}

}  // namespace liteq::generate
