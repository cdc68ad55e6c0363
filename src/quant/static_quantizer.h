// Full-integer (static) quantization as a rewrite of a float graph::Model, from
// calibrated activation ranges (QUANT_SPEC.md).
//
// Every op with an integer kernel runs on int8 (or, for 16x8, int16) tensors:
// FULLY_CONNECTED (int8 symmetric weights per channel, int32 bias; int64 bias for
// 16x8), BATCH_MATMUL, ADD, SUB, MUL, MEAN, RSQRT, SOFTMAX, LOGISTIC, TANH, GELU (int8
// only), GATHER, and the data-movement ops. Where the spec ties parameters (RESHAPE,
// SQUEEZE, TRANSPOSE, SLICE, STRIDED_SLICE, GATHER output = input; SOFTMAX/LOGISTIC/
// TANH fixed outputs; DYNAMIC_UPDATE_SLICE operand = update; CONCATENATION inputs =
// output) they are propagated, not requantized; a CONCATENATION input that arrives
// with other parameters gets an int-to-int QUANTIZE (TFLite's int8 CONCATENATION
// requires identical parameters). Any other op stays float; QUANTIZE / DEQUANTIZE are inserted
// where float and integer regions meet, once per tensor however many consumers it has.
//
// Naming: a tensor keeps its name in the representation its producer writes; the
// converted copy is "<name>/quantized" or "<name>/dequantized". So a quantized file's
// int8 tensor "x" and the float model's "x" are the same value, as TFLite's
// QuantizationDebugger pairs them.
//
// Signature inputs and outputs stay float32 (the official runtime's JavaScript API
// refuses integer signature tensors), except the KV cache with kv_cache_int: then the
// cache state is int8/int16 with the parameters of the values written into it.
#ifndef LITEQ_QUANT_STATIC_QUANTIZER_H_
#define LITEQ_QUANT_STATIC_QUANTIZER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"
#include "quant/quantizer.h"

namespace liteq::quant {

enum class ActivationType { kInt8, kInt16 };

struct ActivationRange {
  float min = 0.0f;
  float max = 0.0f;
  // The tensor held attention-mask sentinels (|x| >= 1e30), excluded from min/max.
  bool has_sentinels = false;
  // Everything observed (min/max = the observer's choice, possibly clipped). Model
  // outputs (logits) use this: clipping the largest logits would change the argmax.
  float observed_min = 0.0f;
  float observed_max = 0.0f;
};
using ActivationRanges = std::map<std::string, ActivationRange>;

struct StaticOptions {
  ActivationType activations = ActivationType::kInt8;
  Granularity weight_granularity = Granularity::kPerChannel;
  bool kv_cache_int = false;
  // Any op left in float (with float activations) is an error listing each one.
  bool strict = false;
  // Keep the statistics of RMSNorm/LayerNorm (x*x, MEAN, +eps, RSQRT) in float: one
  // int8 scale cannot hold mean(x^2) over tokens whose magnitudes differ 100x, and
  // its error scales every element of the token (gemma3-tiny, 16 windows through
  // LiteRT: +0.81% PPL all-int8 vs +0.39% with float statistics). The normalizing
  // MUL and everything else stays integer.
  bool float_norm_statistics = true;
  std::string float_ops;      // regex on op names (e.g. "SOFTMAX|RSQRT"): keep in float
  std::string float_tensors;  // regex on output tensor names: keep their producers float
  // Constant buffers left in float32 (RecipeOptions::float_weights); the ops reading
  // them stay float.
  std::set<uint32_t> float_buffers;
};

struct FloatOp {
  std::string subgraph;
  std::string op;  // "SOFTMAX 'layers.0.attn.probs'"
  std::string reason;
};

struct StaticReport {
  std::map<std::string, int> integer_ops;  // by op name, over all subgraphs
  std::map<std::string, int> float_ops;
  std::vector<FloatOp> float_op_list;
  int quantize_ops = 0;
  int dequantize_ops = 0;
  size_t float_weight_bytes = 0;
  size_t int_weight_bytes = 0;
};

Result<StaticReport> QuantizeStatic(graph::Model& model, const ActivationRanges& ranges,
                                    const StaticOptions& options);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_STATIC_QUANTIZER_H_
