// Rotary position embedding on int8 or float q or k, written as builtin ops
// (model/blocks.cc ApplyRope: rotate_half(x) * sin as concat(x2, x1) * sin_signed), run
// as one kernel:
//   x1 = SLICE(x, last half 0), x2 = SLICE(x, last half 1), swapped = CONCAT(x2, x1)
//   out = ADD(MUL(x, cos), MUL(swapped, sin_signed))   [then MUL(out, scalar constant)]
// with x [B, T, H, D] and cos, sin_signed [B, T, 1, D] (broadcast over the heads), the
// optional MUL being attention's q scale. Unfused these are 5-6 passes over [T, H, D]
// with a hand-off to the pool each: at 2 threads SmolLM2-135M's static prefill spent
// ~0.14 ms per layer on them (8% of the layer), its dynamic_int8 prefill (float RoPE)
// ~0.13 ms.
//
// Fused, each token's heads go through per-thread rows: the slices and CONCAT are
// copies (TFLite's int8 CONCATENATION requires equal parameters, and SLICE copies
// bytes). int8: every MUL and ADD runs the op's own parameters through the same int8
// row functions as the unfused kernels (requantize_rows.h), each operand in the op's
// order. float: the same SIMD float rows as the unfused MUL/ADD (float_math_simd.h),
// IEEE products and sums, which do not depend on the operand order. Either way the
// output is bit-identical to the ops'.
#ifndef LITEQ_RUNTIME_ROPE_FUSION_H_
#define LITEQ_RUNTIME_ROPE_FUSION_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "graph/graph.h"
#include "runtime/kernels/kernel.h"

namespace liteq::runtime {

struct RopeMatch {
  bool float32 = false;                        // else int8
  int x1_op = -1, x2_op = -1, concat_op = -1;  // absorbed
  int cos_op = -1, sin_op = -1;                // MUL(x, cos), MUL(swapped, sin): absorbed
  int add_op = -1;                             // absorbed when scale_op >= 0
  int scale_op = -1;                           // MUL(rotated, constant), or -1
  int out_op = -1;                             // the op that runs the fused kernel
  int32_t x = -1, cos = -1, sin = -1;
  int32_t scale = -1;                        // the scalar constant of scale_op
  int32_t output = -1;                       // ADD's output, or scale_op's
  std::vector<int32_t> inner;                // tensors between them, never written
  int64_t tokens = 0, heads = 0, depth = 0;  // T (times B), H, D
};

// Every int8 or float32 RoPE in `sg` whose inner tensors are plain intermediates
// (`plain[t]`: written by an op, no signature output or state) read only by the next op
// of the pattern, all tensors of x's type (int8: per-tensor quantized), no fused
// activations; `constants[t]`: the bytes of constant tensor t, else nullptr (the slices'
// begin and size).
std::vector<RopeMatch> FindRopePatterns(const graph::Subgraph& sg, const std::vector<bool>& plain,
                                        std::span<const uint8_t* const> constants);

// The kernel for match `m`, bound to inputs {m.x, m.cos, m.sin}, outputs {m.output};
// an error when an op's parameters are outside what its int8 kernel takes (then the
// ops run unfused and report it themselves).
Result<std::unique_ptr<Kernel>> MakeFusedRopeKernel(const graph::Subgraph& sg, const RopeMatch& m,
                                                    std::span<const uint8_t* const> constants,
                                                    int num_threads);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_ROPE_FUSION_H_
