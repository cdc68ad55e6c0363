// Small pieces shared by the quantization rewrites (weight-only, dynamic, static).
#ifndef LITEQ_QUANT_REWRITE_UTIL_H_
#define LITEQ_QUANT_REWRITE_UTIL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"
#include "quant/quant_params.h"
#include "quant/streamed_weights.h"

namespace liteq::quant {

// A float32 tensor with constant data and no quantization parameters yet.
bool IsFloatConstant(const graph::Model& model, const graph::Tensor& t);

// Tensors of subgraph `sg_index` that carry the token ids: the signature input
// `tokens` and anything reshaped/squeezed from it (the embedding GATHER's indices).
std::set<int32_t> TokenTensors(const graph::Model& model, uint32_t sg_index);

// The float values of a buffer, streamed from its producer (or copied if resident).
Result<std::vector<float>> ReadFloats(const graph::Buffer& buffer);


// A lazy float32 buffer: `original`'s values, then `edit` applied in place (nothing is
// held in memory twice; the function-preserving rewrites chain these).
graph::Buffer EditedBuffer(graph::Buffer original, std::function<void(std::span<float>)> edit);

// Appends `suffix` to the name of every constant tensor on `buffer` (a file then says
// which constants a rewrite changed).
void RenameBufferTensors(graph::Model& model, uint32_t buffer, const std::string& suffix);

// The per-channel factors of a function-preserving channel scaling: `channels` of
// them, all finite and non-zero. `what` names the rewrite and its site in errors.
Status CheckChannelScales(std::span<const float> s, int64_t channels, const std::string& what);

// QuantParams for a graph tensor from one (scale, zero point).
graph::QuantParams TensorParams(QuantParams params);

int64_t NumElements(const std::vector<int32_t>& shape);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_REWRITE_UTIL_H_
