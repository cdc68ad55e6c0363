// What one token costs a model in memory traffic and arithmetic, from its graph
// (issue #6's bounds: "bytes of weights + live KV read per token" for decode, and the
// multiply-accumulates of prefill against the int8 peak).
//   - Weight bytes per decode token: every constant a FULLY_CONNECTED or BATCH_MATMUL
//     of the decode signature reads, directly or through a DEQUANTIZE of a constant
//     (the runtime reads the int8/int4 weights then), each buffer once. GATHER tables
//     are not streamed (one row per token) unless an FC reads them too (a tied head).
//   - KV bytes per live position: the decode signature's kv_cache_* inputs, one
//     [1, max_seq, heads, head_dim] row of each.
//   - Weight multiply-accumulates per token: rows x depth of those FCs and constant
//     BATCH_MATMUL operands (attention's matmuls against the cache are not counted:
//     they depend on the position).
//   - Of those, the output head's: the FC whose output reaches the `logits` output
//     through row-wise ops (RESHAPE, DEQUANTIZE, QUANTIZE, TANH, LOGISTIC, MUL, DIV).
//     A prompt needs it for its last position only (the first token's logits), so a
//     prefill of n tokens must do (weight_macs - head_macs) x n + head_macs of them
//     (PrefillMacs): what the prefill percentage of the int8 peak counts.
#ifndef LITEQ_BENCH_MODEL_TRAFFIC_H_
#define LITEQ_BENCH_MODEL_TRAFFIC_H_

#include <cstdint>

#include "graph/graph.h"

namespace liteq::bench {

struct ModelTraffic {
  int64_t weight_bytes_per_token = 0;
  int64_t kv_bytes_per_position = 0;
  int64_t weight_macs_per_token = 0;
  int64_t output_head_macs = 0;  // included in weight_macs_per_token; 0 if not found
  bool integer_weights = false;  // some of those constants are int8/int4 (the int8 peak applies)
  bool found_decode = false;
};

ModelTraffic AnalyzeTraffic(const graph::Model& model);

// Weight multiply-accumulates a prefill of `tokens` tokens needs for its first token.
inline double PrefillMacs(const ModelTraffic& t, int64_t tokens) {
  return static_cast<double>(t.weight_macs_per_token - t.output_head_macs) *
             static_cast<double>(tokens) +
         static_cast<double>(t.output_head_macs);
}

}  // namespace liteq::bench

#endif  // LITEQ_BENCH_MODEL_TRAFFIC_H_
