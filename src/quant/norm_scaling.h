// Per-channel scaling through a norm: the function-preserving rewrite under both
// SmoothQuant (smoothquant.h) and outlier injection (outliers.h).
//
// A "site" is a norm whose output is consumed only by FULLY_CONNECTED ops, in the
// graph the builders emit (src/model/blocks.cc Norm):
//
//     normed ──MUL(multiplier [d])──► norm output [.., d] ──► FC(W_1 [out_1, d]) ...
//
// The multiplier is a float constant: the RMSNorm weight w, or Gemma's 1 + w (the
// builder materialises (1 + w) as one constant, WeightTransform::kPlusOne), so both
// norm variants are handled alike. Because FC computes x · W^T,
//     (normed * m / s) · (W * s)^T == (normed * m) · W^T    for any s_j != 0
// when m is divided by s_j on channel j and column j of every consuming W is
// multiplied by s_j. A site qualifies only when the rewrite cannot change anything
// else (checked over every subgraph, since prefill and decode share buffers):
//   - every consumer of the norm output is an FC reading it as its input (slot 0)
//     with a float constant weight [out, d]; the output is not a graph output;
//   - the multiplier buffer is used only as such a MUL's constant, and each weight
//     buffer only as the weight of FCs fed by the same site (so the final norm in
//     front of a tied embedding/lm head is excluded: the table is also GATHERed);
//   - LayerNorm with a bias (MUL then ADD) and per-head q/k norms (feeding RoPE) are
//     not sites.
#ifndef LITEQ_QUANT_NORM_SCALING_H_
#define LITEQ_QUANT_NORM_SCALING_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::quant {

enum class NormSiteKind { kAttention, kMlp, kOther };

struct NormScalingSite {
  std::string norm_output;  // activation name shared by the subgraphs, "layers.1.attn.norm"
  int layer = -1;           // from "layers.<N>." in norm_output; -1 when absent
  NormSiteKind kind = NormSiteKind::kOther;  // ".attn." / ".mlp." in norm_output
  int64_t channels = 0;                      // d
  uint32_t multiplier_buffer = 0;
  std::string multiplier_name;  // constant tensor name ("model.layers.1.input_layernorm.weight+1")
  std::vector<uint32_t> weight_buffers;  // FC weights [rows, d], each once
  std::vector<int64_t> weight_rows;
  std::vector<std::string> weight_names;
};

// Every site of `model`, in the order of the first subgraph's ops.
Result<std::vector<NormScalingSite>> FindNormScalingSites(const graph::Model& model);

// Divides the site's multiplier channel j by s[j] and multiplies column j of each of
// its FC weights by s[j] (s.size() == channels, all finite and non-zero). The new
// buffers are lazy: they read the old ones when materialised, so nothing is held in
// memory twice. Constant tensors using the buffers get `name_suffix` appended to
// their names (so a file says which constants were rewritten).
Status ScaleNormChannels(graph::Model& model, const NormScalingSite& site, std::span<const float> s,
                         const std::string& name_suffix);

// max |W[:, j]| over all the site's FC weights (streamed one weight at a time).
Result<std::vector<float>> WeightColumnAbsMax(const graph::Model& model,
                                              const NormScalingSite& site);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_NORM_SCALING_H_
