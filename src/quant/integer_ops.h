// Which ops of a float graph the static recipes can run on integers (int8, or int16
// for 16x8), and why the others stay float. Split from static_quantizer.cc: this is
// the per-op capability table, that file the rewrite.
#ifndef LITEQ_QUANT_INTEGER_OPS_H_
#define LITEQ_QUANT_INTEGER_OPS_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "tokenizer/regex.h"

namespace liteq::quant {

struct IntegerOpContext {
  const graph::Subgraph& subgraph;
  graph::DType activations;               // kInt8 or kInt16
  bool kv_cache_int;                      // DYNAMIC_UPDATE_SLICE of the cache may run on integers
  const std::set<int32_t>& cache_inputs;  // KV cache signature inputs
  const tokenizer::Regex* float_ops;      // --float-ops (op names), or null
  const tokenizer::Regex* float_tensors;  // --float-tensors (output names), or null
};

// Why `op` stays float ("" when it can run on integers).
std::string FloatReason(const IntegerOpContext& context, const graph::Op& op);

// Rewrites every float NEG(x) as MUL(x, -1.0) (the same floats) so it runs on the
// integer MUL kernel; returns how many. Why not an integer NEG: TFLite's reference
// int8 NEG (reference_integer_ops::Negate) computes zp_in + zp_out - q, but the
// official runtime (LiteRT.js 2.5.3) negates the raw int8 value (-q, wrapping at
// -128): measured with an int8 NEG in litert_int_conformance_test's graph, all 256
// values differed, so no parameters give the same integers in both. The MUL form
// agrees on all 256 (pinned there). NEG ops matched by --float-ops / --float-tensors
// are left alone. Used by static_int8_strict only: measured on gemma3-tiny
// (recipes_litert_test, 16 windows), an int8 RoPE -sin lowered liteq/LiteRT top-1
// agreement from 96.2% to 94.6% and moved LiteRT's static_int8 dPPL from -0.07% to
// +0.62% (LiteRT runs int8 MUL with XNNPACK's arithmetic, not TFLite's reference),
// so static_int8 keeps NEG in float.
int RewriteNegAsMul(graph::Model& model, const tokenizer::Regex* float_ops,
                    const tokenizer::Regex* float_tensors);

// Ops computing normalization statistics: RSQRT(ADD(MEAN(MUL(a, a)), constant)), the
// four op indices of each match. `producer[t]` is the op writing tensor t, or -1.
std::set<int> NormStatisticsOps(const graph::Subgraph& sg, const std::vector<int>& producer);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_INTEGER_OPS_H_
