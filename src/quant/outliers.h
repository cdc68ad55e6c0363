// Activation outlier injection: a function-preserving rewrite of a float model that
// makes per-tensor activation quantization hard, as in real LLMs where a few hidden
// channels carry values 10-100x larger than the rest (LLM.int8(), SmoothQuant).
// It is the test oracle for SmoothQuant and for per-layer error reports: the float
// model computes the same function (up to float rounding; exactly when the factor is
// a power of two), but the chosen norm outputs now have outlier channels.
//
// For each selected norm site (norm_scaling.h: a pre-attention or pre-MLP norm whose
// output only feeds FULLY_CONNECTED ops), channels j in `channels` get
//     multiplier[j] *= factor,   W[:, j] /= factor  for every consuming FC weight W.
//
// Names, so a debugger can find what was injected:
//   - the norm outputs that now carry outliers keep their names, e.g.
//     "layers.1.attn.norm" (input of q/k/v) and "layers.1.mlp.norm" (input of
//     gate/up); OutlierReport lists them;
//   - the rewritten constants get the suffix "+outliers", e.g.
//     "model.layers.1.input_layernorm.weight+1+outliers",
//     "model.layers.1.self_attn.q_proj.weight+outliers";
//   - the model's metadata entry "liteq.outliers" (JSON: factor, channels, and per site
//     layer, norm_output) is written into the .tflite file.
//
// Defaults follow the oracle: every layer's pre-attention and pre-MLP norm,
// factor 30, 2% of the channels (at least 1), evenly spaced: channel k of n is
// floor((k + 0.5) * d / n) (d = 192, n = 4: channels 24, 72, 120, 168), the same
// channels in every layer, as real outlier channels persist across layers.
#ifndef LITEQ_QUANT_OUTLIERS_H_
#define LITEQ_QUANT_OUTLIERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::quant {

struct OutlierOptions {
  std::vector<int> layers;        // decoder layers to inject into; empty = every layer
  float factor = 30.0f;           // > 0; the outlier channels are this many times larger
  int num_channels = 0;           // outlier channels per norm; 0 = 2% of d (at least 1)
  std::vector<int64_t> channels;  // explicit channel indices (overrides num_channels)
  bool attention = true;          // pre-attention norms (".attn." sites)
  bool mlp = true;                // pre-MLP norms (".mlp." sites)
};

struct InjectedSite {
  int layer = -1;
  std::string norm_output;           // activation with outlier channels
  std::string multiplier;            // renamed constant (with "+outliers")
  std::vector<std::string> weights;  // renamed FC weights (with "+outliers")
};

struct OutlierReport {
  float factor = 0.0f;
  std::vector<int64_t> channels;
  std::vector<InjectedSite> sites;
};

// Parses the CLI form "LAYERS[:FACTOR]": LAYERS is "all" or a comma list ("1,3"),
// FACTOR a positive number ("all:30", "1,3:64").
Result<OutlierOptions> ParseOutlierSpec(const std::string& spec);

// Rewrites the float `model` in place (before quantization). Errors: a requested layer
// without a site, a channel index out of range, a factor <= 0, an already quantized
// or already injected model.
Result<OutlierReport> InjectActivationOutliers(graph::Model& model, const OutlierOptions& options);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_OUTLIERS_H_
