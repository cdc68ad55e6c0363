// SmoothQuant (Xiao et al. 2023, "SmoothQuant: Accurate and Efficient Post-Training
// Quantization for Large Language Models", eq. 4): migrate the per-channel scale of
// activation outliers into the weights of the following linear layers, before the
// activations are calibrated:
//
//     s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)
//
// X_j: channel j of a norm output over the calibration samples; max|W_j|: column j
// over all FC weights that read it. The norm multiplier (RMSNorm w, or Gemma's 1 + w,
// one constant in the graph) is divided by s_j and the weight columns are multiplied
// by s_j (norm_scaling.h: which norms qualify and why the function is unchanged).
// The input of a gated MLP's down_proj is smoothed the same way through up_proj's
// output rows (mlp_scaling.h).
// Rewritten constants get the suffix "+smooth"; the model's metadata entry
// "liteq.smoothquant" records alpha and the smoothed norm outputs.
#ifndef LITEQ_QUANT_SMOOTHQUANT_H_
#define LITEQ_QUANT_SMOOTHQUANT_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"
#include "quant/calibration.h"

namespace liteq::quant {

struct SmoothQuantOptions {
  float alpha = 0.5f;  // migration strength in [0, 1]
  // Calibration of the per-channel maxima (histogram fields are ignored).
  CalibrationOptions calibration;
};

struct SmoothQuantReport {
  int sites = 0;
  std::vector<std::string> norm_outputs;
  std::vector<std::string> mlp_hiddens;  // down_proj inputs smoothed through up_proj
  float min_scale = 0.0f, max_scale = 0.0f;  // over all channels of all sites
  double seconds = 0.0;
};

// s_j as above. A channel with no activation or no weight magnitude keeps s_j = 1;
// s_j is clamped to [1e-5, 1e5] so that no multiplier or weight over/underflows.
std::vector<float> SmoothingScales(std::span<const float> activation_abs_max,
                                   std::span<const float> weight_abs_max, float alpha);

// Runs the float `model` on `samples` to collect the norm outputs' per-channel maxima,
// then smooths every site in place.
Result<SmoothQuantReport> ApplySmoothQuant(graph::Model& model,
                                           const std::vector<std::vector<int32_t>>& samples,
                                           const SmoothQuantOptions& options);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_SMOOTHQUANT_H_
