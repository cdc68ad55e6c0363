// Constants of the static recipes: weights (int8, streamed), small float operands
// (norm weights, scalars, SELECT_V2 operands, int16 tables) and FC biases. Split
// from static_quantizer.cc (the rewrite) to keep that file about graph structure.
#ifndef LITEQ_QUANT_STATIC_CONSTANTS_H_
#define LITEQ_QUANT_STATIC_CONSTANTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"
#include "quant/static_quantizer.h"

namespace liteq::quant {

// How a float constant read by an integer op is stored.
enum class ConstScheme {
  kWeightPerChannel,  // FULLY_CONNECTED weights: symmetric int8, one scale per row
  kWeightPerTensor,   // ... one scale (also a tied embedding shared with its GATHER)
  kTable,             // GATHER params: symmetric, one scale, output keeps it
  kActivation,        // operands of ADD/MUL...: like an activation (own min/max)
};

struct QuantizedBuffer {
  uint32_t buffer = 0;
  graph::DType dtype = graph::DType::kInt8;
  graph::QuantParams params;
};
using QuantizedBufferCache = std::map<std::pair<uint32_t, ConstScheme>, QuantizedBuffer>;

// The buffer of float constant `t` quantized with `scheme` for activations of
// `act_dtype` (weights and int8 tables: symmetric int8; other operands: like an
// activation), once per model and scheme: `cache` holds what every subgraph's copies
// share. The float and integer bytes are added to `report`.
Result<QuantizedBuffer> QuantizeConstantBuffer(graph::Model& model, const graph::Tensor& t,
                                               ConstScheme scheme, graph::DType act_dtype,
                                               QuantizedBufferCache& cache, StaticReport& report);

struct SmallConstant {
  uint32_t buffer = 0;  // new buffer in the model
  graph::QuantParams params;
  size_t bytes = 0;
};

// Quantizes the float32 buffer `original` (`count` values) to `dtype` (kInt8 or kInt16).
// With `params`, those are used (values outside saturate: an operand that must share
// another tensor's parameters); otherwise they come from the values' range widened to
// include 0: int8 asymmetric, or int16 symmetric (also when `symmetric` is set).
Result<SmallConstant> QuantizeSmallConstant(graph::Model& model, const graph::Buffer& original,
                                            int64_t count, const std::string& name,
                                            graph::DType dtype, bool symmetric,
                                            const graph::QuantParams* params = nullptr);

// Weights of constant `t` (float32 buffer `original`): symmetric int8 per channel
// along dimension 0 (or per tensor), scales chosen now, bytes produced lazily when the
// file is written (streamed_weights.h); `bytes` is the int8 size.
Result<SmallConstant> QuantizeWeightConstant(graph::Model& model, const graph::Buffer& original,
                                             const graph::Tensor& t, bool per_tensor);

// A copy of float constant tensor `t` quantized to `dtype` with `params` (values
// outside saturate), its new buffer added to `model`.
Result<graph::Tensor> QuantizeConstantWith(graph::Model& model, const graph::Tensor& t,
                                           const graph::QuantParams& params, graph::DType dtype);

// The int32 (int8 activations) or int64 (int16) bias of an integer FULLY_CONNECTED:
// scale input_scale * weight_scales[c], zero point 0 (QUANT_SPEC.md). Returns the new
// tensor ("<name>/quantized") with its buffer added to `model`.
Result<graph::Tensor> QuantizeFcBias(graph::Model& model, const graph::Tensor& bias,
                                     float input_scale, const std::vector<float>& weight_scales,
                                     graph::DType activations);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_STATIC_CONSTANTS_H_
