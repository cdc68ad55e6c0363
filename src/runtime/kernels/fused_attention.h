// Attention over the live cache positions only (see runtime/attention_fusion.h for
// the op pattern it replaces and why the result is the same).
#ifndef LITEQ_RUNTIME_KERNELS_FUSED_ATTENTION_H_
#define LITEQ_RUNTIME_KERNELS_FUSED_ATTENTION_H_

#include <memory>

#include "runtime/attention_fusion.h"
#include "runtime/kernels/kernel.h"

namespace liteq::runtime {

// Inputs of the op it is bound to: {q, k_cache, v_cache, mask}; output {out}.
// `scratch_bytes` is what EvalContext::scratch must hold.
std::unique_ptr<Kernel> MakeFusedAttentionKernel(const AttentionMatch& match, int num_threads,
                                                 size_t* scratch_bytes);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_FUSED_ATTENTION_H_
