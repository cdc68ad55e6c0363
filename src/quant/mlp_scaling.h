// Per-channel scaling through a gated MLP's up projection: the function-preserving
// rewrite that lets SmoothQuant (smoothquant.h) also smooth the input of down_proj,
// which carries the largest activation outliers of these models (gemma3-tiny:
// [-35, 56] against [-5, 5] at the attention and MLP inputs; keeping down_proj float
// is the biggest single win of `liteq sensitivity`).
//
// A site, in the graph the builders emit (src/model/blocks.cc gated MLP):
//
//     up = FC(x, W_up [f, d])   (no bias, no fused activation)
//     h  = MUL(act(gate), up)   (no fused activation)        h [.., f]
//     y  = FC(h, W_down [d, f])
//
// h is linear in up's output channel c, so dividing row c of W_up by s_c and
// multiplying column c of W_down by s_c leaves y unchanged for any s_c != 0:
//     (act(gate)_c * up_c / s_c) * (W_down[:, c] * s_c) == act(gate)_c * up_c * W_down[:, c].
// A site qualifies only when nothing else can see the change (checked over every
// subgraph, as prefill and decode share buffers): up's output is read only by the MUL,
// the MUL's output only by the down FC as its input, and the two weight buffers are
// used only as those FCs' weights. Per-channel weight scales of W_up are unaffected
// (its rows are scaled whole).
#ifndef LITEQ_QUANT_MLP_SCALING_H_
#define LITEQ_QUANT_MLP_SCALING_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::quant {

struct MlpScalingSite {
  std::string hidden;  // the MUL output's name, shared by the subgraphs ("layers.0.mlp.hidden")
  int64_t channels = 0;        // f
  uint32_t up_buffer = 0;      // W_up [f, d]
  uint32_t down_buffer = 0;    // W_down [d, f]
  int64_t up_columns = 0;      // d
};

// Every site of `model`, in the order of the first subgraph's ops.
Result<std::vector<MlpScalingSite>> FindMlpScalingSites(const graph::Model& model);

// Divides row c of W_up by s[c] and multiplies column c of W_down by s[c] (lazy
// buffers; tensors renamed with `name_suffix`).
Status ScaleMlpChannels(graph::Model& model, const MlpScalingSite& site, std::span<const float> s,
                        const std::string& name_suffix);

// max |W_down[:, c]| for every channel c.
Result<std::vector<float>> DownColumnAbsMax(const graph::Model& model, const MlpScalingSite& site);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_MLP_SCALING_H_
