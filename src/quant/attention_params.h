// Quantization parameters of the attention mask and of the scores entering an integer
// SOFTMAX in the static recipes. The mask is an integer tensor like any other, so a
// hidden key gets the lowest score the softmax input can represent rather than minus
// infinity; these rules keep what hidden keys contribute exact (every hidden sum at
// the minimum) and negligible (the softmax floor far below the top).
#ifndef LITEQ_QUANT_ATTENTION_PARAMS_H_
#define LITEQ_QUANT_ATTENTION_PARAMS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "graph/graph.h"
#include "liteq/status.h"
#include "quant/static_quantizer.h"

namespace liteq::quant {

// One integer ADD of the mask: its output's parameters and, when the other operand is
// an activation, that operand's.
struct MaskedAdd {
  graph::QuantParams sum;
  std::optional<graph::QuantParams> other;
};

// The mask's parameters: the zero point at the top of the integer range (qmax for
// int8, 0 for symmetric int16), so a visible key's 0 is exact, and a step at least the
// widest sum's, and wide enough that the sentinel plus the largest value of the other
// operand stays a step below the sum's minimum: every hidden key's sum saturates to
// the minimum for any representable score (the runtime's fused int8 attention relies
// on that). Empty parameters when `adds` is empty.
graph::QuantParams SaturatingMaskParams(std::span<const MaskedAdd> adds, int32_t qmin, int32_t qmax,
                                        bool int8);

// The int8 input of SOFTMAX over `keys` masked keys, from the calibrated range `r` of
// tensor `name`. Hidden keys arrive at -128, the floor of these parameters, and
// TFLite's int8 SOFTMAX (no mask) gives each of them exp(floor - row_max) times the
// weight of a live key at the row max; summed over every hidden cache row this steals
// probability from the live keys and grows with max_seq (gemma3-tiny, moving_average,
// 64 windows, floor as calibrated, ~8 below the top: mean KL 8.6e-3 at max_seq 256,
// 8.8e-3 at 1024, 1.02e-2 at 4096). The floor is therefore at least ln(keys) + 13
// below the calibrated maximum: all hidden rows together weigh at most e^-13 of a key
// at the top of the range (rows whose max sits lower get proportionally more). The
// price is a coarser step (0.049..0.066 -> 0.078 at 1024 keys). Measured with this
// rule (and the scores sharing these parameters): KL 8.20e-3 / 8.15e-3 / 8.17e-3,
// dPPL +0.22% / +0.28% / +0.33% at max_seq 256 / 1024 / 4096; a fixed span of 28
// (step 0.11) was as flat with the same KL.
Result<graph::QuantParams> MaskedScoresParams(const ActivationRange& r, int64_t keys,
                                              const std::string& name);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_ATTENTION_PARAMS_H_
