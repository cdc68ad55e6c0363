#include "model/rope.h"

#include <cmath>
#include <numbers>

namespace liteq::model {

std::vector<float> RopeInverseFrequencies(const RopeConfig& rope, int rotary_dim) {
  const int half = rotary_dim / 2;
  std::vector<float> inv(half);
  // _compute_default_rope_parameters:
  //   1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)), all in float32.
  const float base = static_cast<float>(rope.theta);
  for (int i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(rotary_dim);
    inv[i] = 1.0f / std::pow(base, exponent);
  }
  if (rope.type == "linear") {
    // _compute_linear_scaling_rope_parameters: inv_freq /= factor.
    const float factor = static_cast<float>(rope.factor);
    for (float& f : inv) f /= factor;
  } else if (rope.type == "llama3") {
    // _compute_llama3_parameters: keep high frequencies, divide low frequencies by
    // `factor`, and interpolate smoothly in between (float32 tensor arithmetic).
    const float factor = static_cast<float>(rope.factor);
    const float low = static_cast<float>(rope.low_freq_factor);
    const float high = static_cast<float>(rope.high_freq_factor);
    const float old_len = static_cast<float>(rope.original_max_position_embeddings);
    const float low_freq_wavelen =
        static_cast<float>(rope.original_max_position_embeddings / rope.low_freq_factor);
    const float high_freq_wavelen =
        static_cast<float>(rope.original_max_position_embeddings / rope.high_freq_factor);
    const float two_pi = static_cast<float>(2 * std::numbers::pi);
    for (float& f : inv) {
      const float wavelen = two_pi / f;
      float scaled = wavelen > low_freq_wavelen ? f / factor : f;
      const float smooth = (old_len / wavelen - low) / (high - low);
      const float smoothed = (1.0f - smooth) * scaled / factor + smooth * scaled;
      const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
      if (medium) scaled = smoothed;
      f = scaled;
    }
  }
  return inv;
}

RopeTables ComputeRopeTables(const RopeConfig& rope, int rotary_dim, int max_seq) {
  const std::vector<float> inv = RopeInverseFrequencies(rope, rotary_dim);
  const size_t half = inv.size();
  RopeTables t;
  t.cos.resize(static_cast<size_t>(max_seq) * half);
  t.sin.resize(t.cos.size());
  for (int p = 0; p < max_seq; ++p) {
    for (size_t i = 0; i < half; ++i) {
      // freqs = inv_freq @ position_ids in float32: one rounded product per entry.
      const float angle = inv[i] * static_cast<float>(p);
      t.cos[p * half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      t.sin[p * half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
  }
  return t;
}

}  // namespace liteq::model
