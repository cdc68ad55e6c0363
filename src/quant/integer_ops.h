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

// Ops computing normalization statistics: RSQRT(ADD(MEAN(MUL(a, a)), constant)), the
// four op indices of each match. `producer[t]` is the op writing tensor t, or -1.
std::set<int> NormStatisticsOps(const graph::Subgraph& sg, const std::vector<int>& producer);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_INTEGER_OPS_H_
