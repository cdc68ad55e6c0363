// SiLU written as builtin ops, MUL(x, LOGISTIC(x)) (how the exporter spells
// HF's `silu` for llama-style MLPs), run as one kernel: the sigmoid goes through a
// small stack buffer instead of a tensor the size of the MLP's hidden activations
// (768 KB per 128-token prefill chunk of SmolLM2-135M), so the arena needs one such
// block less, and the product can overwrite x (PlanBuilder::PlanInPlaceElementwise).
// Results are bit-identical to the two kernels: the same SIMD LOGISTIC and MUL per
// element (float_math_simd.h: an element's value does not depend on the chunking).
#ifndef LITEQ_RUNTIME_SILU_FUSION_H_
#define LITEQ_RUNTIME_SILU_FUSION_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "graph/graph.h"
#include "runtime/kernels/kernel.h"

namespace liteq::runtime {

struct SiluMatch {
  int logistic_op = -1;  // absorbed
  int mul_op = -1;       // runs the fused kernel
  int32_t x = -1;        // the input of both
  int32_t sigmoid = -1;  // LOGISTIC's output, never written
};

// float32 MUL(x, LOGISTIC(x)) (either operand order) without broadcasting or fused
// activation, whose LOGISTIC output is a plain intermediate (`plain[t]`: written by an
// op, no signature output or state) read by that MUL only.
std::vector<SiluMatch> FindSiluPatterns(const graph::Subgraph& sg, const std::vector<bool>& plain);

// The kernel for a MUL bound to inputs {x}, outputs {MUL's output}, of `count`
// elements.
std::unique_ptr<Kernel> MakeFusedSiluKernel(int64_t count);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_SILU_FUSION_H_
