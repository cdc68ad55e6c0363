// Small pieces shared by the quantization rewrites (weight-only, dynamic, static).
#ifndef LITEQ_QUANT_REWRITE_UTIL_H_
#define LITEQ_QUANT_REWRITE_UTIL_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"
#include "quant/quant_params.h"

namespace liteq::quant {

// A float32 tensor with constant data and no quantization parameters yet.
bool IsFloatConstant(const graph::Model& model, const graph::Tensor& t);

// Tensors of subgraph `sg_index` that carry the token ids: the signature input
// `tokens` and anything reshaped/squeezed from it (the embedding GATHER's indices).
std::set<int32_t> TokenTensors(const graph::Model& model, uint32_t sg_index);

// The float values of a buffer, streamed from its producer (or copied if resident).
Result<std::vector<float>> ReadFloats(const graph::Buffer& buffer);

// Symmetric weights of a [rows, cols] float tensor: per row, or one scale.
Result<SymmetricWeights> QuantizeSymmetric(std::span<const float> values, int64_t rows,
                                           bool per_tensor, int bits);

// A buffer whose bytes are the int8 (bits 8) or packed int4 (bits 4) symmetric
// quantization of `original` (float32 [rows, cols]), produced when the writer streams
// it: the float tensor is read again then, so the model is never held twice.
// block_size > 0 quantizes blocks of that many columns (scales [rows, cols/block]).
graph::Buffer LazySymmetricWeights(graph::Buffer original, int64_t rows, int64_t cols,
                                   bool per_tensor, int bits, int64_t block_size, std::string name);

// QuantParams for a graph tensor from one (scale, zero point).
graph::QuantParams TensorParams(QuantParams params);

int64_t NumElements(const std::vector<int32_t>& shape);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_REWRITE_UTIL_H_
