// SiLU written as builtin ops, MUL(x, LOGISTIC(x)) (how the exporter spells
// HF's `silu` for llama-style MLPs), run as one kernel: the sigmoid goes through a
// small stack buffer instead of a tensor the size of the MLP's hidden activations
// (768 KB per 128-token prefill chunk of SmolLM2-135M), so the arena needs one such
// block less, and the product can overwrite x (PlanBuilder::PlanInPlaceElementwise).
// Results are bit-identical to the two kernels: the same SIMD LOGISTIC and MUL per
// element (float_math_simd.h: an element's value does not depend on the chunking).
//
// In a static int8 model both ops are int8 and silu(x) depends on x's 256 values only:
// the fused kernel is one table lookup, the table built at Prepare by running the
// LOGISTIC's table and then the MUL's int8 row (requantize_rows.h, the op's operand
// order and parameters) over every int8 value, so each entry is what the two ops give
// (SmolLM2-135M static prefill at 2 threads: 48 -> ~13 us per layer).
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
  bool int8 = false;     // int8 tensors (else float32)
};

// MUL(x, LOGISTIC(x)) (either operand order) without broadcasting or fused activation,
// all float32 or all int8 per tensor, whose LOGISTIC output is a plain intermediate
// (`plain[t]`: written by an op, no signature output or state) read by that MUL only.
std::vector<SiluMatch> FindSiluPatterns(const graph::Subgraph& sg, const std::vector<bool>& plain);

// The float kernel for a MUL bound to inputs {x}, outputs {MUL's output}, of `count`
// elements.
std::unique_ptr<Kernel> MakeFusedSiluKernel(int64_t count);

// The int8 kernel for match `m` (bound the same way); an error when the ops' parameters
// are outside what their int8 kernels take (they then run unfused and report it).
Result<std::unique_ptr<Kernel>> MakeFusedSiluInt8Kernel(const graph::Subgraph& sg,
                                                        const SiluMatch& m,
                                                        std::span<const uint8_t* const> constants,
                                                        int num_threads);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_SILU_FUSION_H_
