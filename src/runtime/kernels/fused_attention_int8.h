// The static int8 attention block (runtime/attention_fusion.h, int8 pattern) as one
// kernel that visits only the live cache positions and gives the same int8 output as
// the unfused ops, bit for bit:
//   QUANTIZE(k/v cache) -> TRANSPOSE -> scores = BATCH_MATMUL(q, keys^T)
//   masked = ADD(scores, mask) -> probs = SOFTMAX(masked) -> BATCH_MATMUL(probs, values)
//
// Why skipping the hidden positions is exact although int8 masking is not -inf:
//  - A hidden key's mask value saturates the ADD (the quantizer gives the mask the
//    sentinel -128 with a step wide enough; Prepare checks ADD(127, sentinel) == -128),
//    so its masked score is -128 whatever the key holds.
//  - SOFTMAX (softmax_int.h) sums table[255 - (max - x)] over the row in order. Hidden
//    keys outside the live range [lo, hi] all add the same float c = table[127 - max]:
//    the lo of them before the live keys and the S - 1 - hi after them are added with
//    SumAfterAdding (the same float result as adding them one by one), the live keys
//    in between as the kernel does. The max is a live key's (-128 is the minimum).
//  - A hidden key's probability p_h is the same integer for the whole row. In the
//    probs x V product it contributes (p_h - zp_probs) * sum_hidden (v - zp_v) per
//    output column. That is 0 when p_h is the probabilities' zero point (usual), or
//    else is taken from the hidden V rows' column sums (computed once per head and
//    step when some row needs them; rows never written hold 0.0, i.e. v = zp_v).
// The int32 sums wrap modulo 2^32 exactly like the reference kernels' (the terms of
// the hidden keys are the ones above), so every int8 is the one the unfused ops give.
#ifndef LITEQ_RUNTIME_KERNELS_FUSED_ATTENTION_INT8_H_
#define LITEQ_RUNTIME_KERNELS_FUSED_ATTENTION_INT8_H_

#include <memory>
#include <span>

#include "runtime/attention_fusion.h"
#include "runtime/kernels/kernel.h"

namespace liteq::runtime {

// Inputs of the op it is bound to: {q, k_cache, v_cache, mask[, positions]} (the caches
// float32 when match.k_quantized / v_quantized are set, else int8); output {out}.
// An error means the pattern cannot run fused (unsupported parameters); the ops then
// run one by one and report their own errors.
Result<std::unique_ptr<Kernel>> MakeFusedAttentionInt8Kernel(
    const graph::Subgraph& sg, const AttentionMatch& match,
    std::span<const uint8_t* const> constants, int num_threads, size_t* scratch_bytes);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_FUSED_ATTENTION_INT8_H_
