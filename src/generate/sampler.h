// Picks the next token from a row of logits: greedy, or temperature sampling
// restricted by top-k and top-p (nucleus), reproducible for a given seed.
#ifndef LITEQ_GENERATE_SAMPLER_H_
#define LITEQ_GENERATE_SAMPLER_H_

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "liteq/status.h"

namespace liteq::generate {

struct SamplerOptions {
  float temperature = 0.0f;  // 0 = greedy (argmax)
  int top_k = 0;             // 0 = no limit
  float top_p = 1.0f;        // 1 = no nucleus cut
  uint64_t seed = 0;
};

Status ValidateSamplerOptions(const SamplerOptions& options);

// Index of the largest logit; the lowest index wins ties (as torch.argmax does).
int32_t Argmax(std::span<const float> logits);

class Sampler {
 public:
  explicit Sampler(SamplerOptions options);
  int32_t Sample(std::span<const float> logits);

 private:
  SamplerOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;  // reused, no per-token allocation
};

}  // namespace liteq::generate

#endif  // LITEQ_GENERATE_SAMPLER_H_
