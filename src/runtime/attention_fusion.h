// Finds the attention pattern liteq's graph builder writes (model/blocks.cc
// AttendToCache) so the runtime can run it as one kernel that visits only the live
// cache positions. The graph itself must stay plain builtin ops (LiteRT runs the same
// file), so it multiplies queries with all `max_seq` cache rows, masks the unwritten
// ones with the float minimum and lets softmax give them weight 0. Computed that way,
// a decode step at position 100 costs as much with --max-seq 8192 as at the end of the
// cache. The fused kernel gives the same result: a masked position contributes exp(x -
// max) == 0 exactly to the softmax sum and 0 * v to the context.
//
// The mask is usually the builder's (model/decoder.cc BuildMask):
//   mask = SELECT_V2(visible, 0.0, lowest float)      visible [T, S] bool
//   visible = LESS_EQUAL(keys, query)                  causal
//          or LOGICAL_AND(LESS_EQUAL(keys, query), GREATER(keys, SUB(query, window)))
//   keys = constant int32 [S] 0, 1, ..., S-1;  query = RESHAPE(positions int32 [T], [T, 1])
// Then the live key range of a step is known from the T positions alone: the kernel
// reads them instead of scanning every mask row over all S keys for the first and last
// visible one, so the attention blocks cost the same at any max_seq (the mask ops
// themselves still run once per step over [T, S]). Inside the range the kernel still
// adds the mask values the graph computed (bit-identical to the unfused ops).
//
// The pattern, all float32, every intermediate read by the next op only:
//   keys   = TRANSPOSE(k_cache [1, S, kv, hd], perm [0, 2, 1, 3])
//   values = TRANSPOSE(v_cache [1, S, kv, hd], perm [0, 2, 1, 3])
//   scores = BATCH_MATMUL(q [1, kv, G*T, hd], keys, adj_y)      [1, kv, G*T, S]
//            (optionally RESHAPE to [kv, G, T, S])
//   masked = ADD(scores, mask [T, S])                           no activation
//   probs  = SOFTMAX(masked, beta 1)  (optionally RESHAPE back to [1, kv, G*T, S])
//   out    = BATCH_MATMUL(probs, values)                        [1, kv, G*T, hd]
//
// The static int8 graph has the same pattern with int8 tensors (dtype int8 in the
// match): the caches are int8, or float32 read through QUANTIZE(cache) before each
// TRANSPOSE (absorbed too), and the mask is an int8 SELECT_V2 whose hidden value
// saturates the ADD. runtime/kernels/fused_attention_int8.h explains why visiting
// only the live positions still gives the unfused ops' integers.
#ifndef LITEQ_RUNTIME_ATTENTION_FUSION_H_
#define LITEQ_RUNTIME_ATTENTION_FUSION_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "graph/graph.h"

namespace liteq::runtime {

struct AttentionMatch {
  graph::DType dtype = graph::DType::kFloat32;  // float32, or int8 (header)
  int out_op = -1;                        // the final BATCH_MATMUL: the fused kernel runs here
  std::vector<int> absorbed_ops;          // the pattern's other ops: not run
  std::vector<int32_t> absorbed_tensors;  // their outputs: never written
  int32_t q = -1, k_cache = -1, v_cache = -1, mask = -1, out = -1;
  int kv_heads = 0, rows = 0, tokens = 0, max_seq = 0, head_dim = 0;  // rows = G * T
  // The mask's structure when it is the builder's (above), else positions = -1 and
  // the kernel scans the mask rows.
  int32_t positions = -1;  // int32 [T]: the query positions
  int64_t window = 0;      // sliding window (keys j > position - window), 0: none

  // The pattern's inner tensors: an int8 pattern applies their quantization
  // parameters (the RESHAPEs and TRANSPOSEs copy bytes, so each op reads its own
  // operand's parameters). `k_quantized`/`v_quantized`: the QUANTIZE outputs when the
  // cache is float32, else -1 (an int8 cache is read as is).
  int32_t keys = -1, values = -1, k_quantized = -1, v_quantized = -1;
  int32_t scores = -1, scores_in = -1, masked = -1, probs = -1, probs_in = -1;
  // int8 with the builder's mask: the SELECT_V2 value of hidden keys.
  std::optional<int8_t> mask_hidden_value;
};

// Mask values at or below this hide a key (the builder writes the float minimum).
inline constexpr float kAttentionHiddenBelow = -1e30f;

// Widens [lo, hi] to the keys that `tokens` queries at `positions` see under the
// builder's mask (header): key j <= position (and j > position - window when window
// > 0), within [0, max_seq). O(tokens); the fused kernels' live range.
void WidenToLiveKeys(const int32_t* positions, int tokens, int64_t window, int max_seq, int& lo,
                     int& hi);

// The causal cut of a prefill chunk: query rows are taken in blocks, and the keys after
// the last one any row of a block sees are hidden for all of them, about half of a
// chunk's score matrix. A float block leaves them out (exp gives them exactly 0), an
// int8 block adds them as it adds the keys outside the live range.
//
// keys[t] = one past the last key token t sees, counted from the live range's first key
// `lo` (0: none, at most `n`): from the query positions under the builder's mask
// (`positions` not null), else from mask row t [S], scanned from the live range's end
// for a value above `hidden_at_or_below`.
template <typename T>
void TokenLiveKeys(const int32_t* positions, const T* mask, T hidden_at_or_below, int tokens,
                   int max_seq, int lo, int n, int32_t* keys) {
  for (int t = 0; t < tokens; ++t) {
    int last = lo - 1;
    if (positions != nullptr) {
      last =
          static_cast<int>(std::max<int64_t>(last, std::min<int64_t>(max_seq - 1, positions[t])));
    } else {
      const T* row = mask + static_cast<size_t>(t) * max_seq;
      for (int j = lo + n - 1; j >= lo; --j) {
        if (row[j] > hidden_at_or_below) {
          last = j;
          break;
        }
      }
    }
    keys[t] = std::min(last + 1 - lo, n);
  }
}

// Keys in the groups in which a block leaves them out (the int8 kernel's VNNI key
// group, attention_vnni.h).
inline constexpr int kAttentionKeyGroup = 16;

// How many of the n live keys query rows [row0, row0 + m) compute: up to the key group
// holding the last key any of them sees (row r is token (row0 + r) % tokens;
// token_keys from TokenLiveKeys, nullptr when a single token: all n). All n when a row
// sees no key: its softmax is uniform over every key, as the unfused ops give it.
inline int BlockLiveKeys(const int32_t* token_keys, int tokens, int row0, int m, int n) {
  if (token_keys == nullptr) return n;
  int keys = 0;
  for (int r = 0; r < m; ++r) {
    const int row_keys = token_keys[(row0 + r) % tokens];
    if (row_keys == 0) return n;
    keys = std::max(keys, row_keys);
  }
  return std::min(n, (keys + kAttentionKeyGroup - 1) / kAttentionKeyGroup * kAttentionKeyGroup);
}

// Every match in `sg`. `plain[t]`: tensor t is written by an op and is no signature
// output or state (nothing outside the pattern can observe it); `constants[t]`: the
// bytes of constant tensor t, else nullptr.
std::vector<AttentionMatch> FindAttentionPatterns(const graph::Subgraph& sg,
                                                  const std::vector<bool>& plain,
                                                  std::span<const uint8_t* const> constants);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_ATTENTION_FUSION_H_
