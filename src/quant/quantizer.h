// Weight-only int8 quantization as a rewrite of graph::Model (QUANT_SPEC.md,
// "Model-level conventions": int8 constant weights followed by an explicit
// DEQUANTIZE op that feeds the float op).
//
// Rewritten: the weights of every FULLY_CONNECTED whose weight input is a float32
// constant, and the params of the token-embedding GATHER (the GATHER whose indices
// come from the signature input `tokens`). Weights are symmetric int8 in [-127, 127]
// with zero point 0, rounded half away from zero; per output channel (axis 0 of
// [out, in]) or per tensor. The embedding table [vocab, hidden] gets its own setting:
// per channel means one scale per token row. QUANT_SPEC's "GATHER params per-tensor"
// is the rule of the integer GATHER kernel; here the GATHER reads the float output of
// DEQUANTIZE, and DEQUANTIZE takes per-axis int8, so per-row scales are valid LiteRT.
// They matter: gemma3-tiny ties the embedding to the lm head, and a per-tensor table
// costs +0.11% perplexity against -0.002% per row (see weight_only_eval_test). A buffer
// that is both embedding and lm head takes the embedding setting for all its uses.
//
// Buffers stay shared: the rewrite is per model buffer, so a weight used by the
// prefill and decode subgraphs (or by GATHER and lm head) is quantized once and its
// int8 buffer replaces the float one at the same index. The int8 bytes are produced
// lazily: the scales are computed now by streaming each float tensor once, and the
// buffer's producer re-reads the float producer when the writer streams it out, so
// the model is never held in memory twice.
#ifndef LITEQ_QUANT_QUANTIZER_H_
#define LITEQ_QUANT_QUANTIZER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::quant {

enum class Granularity { kPerChannel, kPerTensor };

struct WeightOnlyOptions {
  Granularity granularity = Granularity::kPerChannel;            // FULLY_CONNECTED weights
  Granularity embedding_granularity = Granularity::kPerChannel;  // the GATHER table
  // 8, or 4 for the linear layers (the embedding table stays int8). int4 weights are
  // TensorType INT4, two per byte, symmetric [-7, 7].
  int bits = 8;
  // int4 only: scales per `block_size` input columns (32, 64, 128), or 0 = per channel.
  // Blocks are stored as per-axis parameters of the [rows * cols / block, block] view
  // followed by DEQUANTIZE and RESHAPE back to [rows, cols].
  int64_t block_size = 0;
  // Buffers left in float32 (RecipeOptions::float_weights, e.g. --ple-dtype).
  std::set<uint32_t> float_buffers;
  // Per-buffer settings that replace the ones above (a recipe file's rules,
  // quant/weight_rules.h).
  struct Override {
    int bits = 8;
    std::optional<Granularity> granularity;
    int64_t block_size = 0;  // int4 only
  };
  std::map<uint32_t, Override> overrides;
};

struct QuantizeReport {
  int quantized_buffers = 0;   // float buffers replaced by int8 ones
  int per_tensor_buffers = 0;  // of which per tensor
  int dequantize_ops = 0;      // DEQUANTIZE ops inserted (over all subgraphs)
  int hybrid_ops = 0;          // dynamic int8: hybrid FULLY_CONNECTED / EMBEDDING_LOOKUP
  // int4 blockwise: matrices whose columns are not a multiple of the block size,
  // quantized per channel instead.
  int per_channel_fallback_buffers = 0;
  size_t float_bytes = 0;      // bytes of the replaced float buffers
  size_t int8_bytes = 0;       // bytes of their int8 replacements
};

Result<QuantizeReport> QuantizeWeightOnly(graph::Model& model, const WeightOnlyOptions& options);

// Dynamic-range int8 (QUANT_SPEC.md "Hybrid ops"): FULLY_CONNECTED weights become int8
// per channel (or per tensor) and are read directly by the hybrid kernel, which
// quantizes each float input row on the fly (asymmetric_quantize_inputs, as TFLite's
// dynamic-range converter sets); the token embedding GATHER becomes EMBEDDING_LOOKUP
// of an int8 table with float output. A tied table is one int8 buffer for both.
Result<QuantizeReport> QuantizeDynamicInt8(graph::Model& model, const WeightOnlyOptions& options);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_QUANTIZER_H_
