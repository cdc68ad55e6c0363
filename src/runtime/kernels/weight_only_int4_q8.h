// Decode products of float activations with int4 weights (weight_only_int4) computed
// in integers: each group of 32 activations is quantized to int8 on the fly, the
// int4 x int8 products of a group are summed exactly in int32, and only the group
// sums are scaled in float. This is what LiteRT's own CPU path (XNNPACK's
// "qd8-f32-qb4w" GEMM for blockwise int4 weights) and llama.cpp (Q4_0 x Q8_0) do; it
// replaces the per-weight nibble -> float conversion and FMA of the exact GEMV
// (weight_only_dot.h), which made that GEMV compute-bound.
//
// The specification (ReferenceInt4Q8Gemv; the AVX2 code is bit-exact with it):
//
// Activations (QuantizeQ8Activations), each row cut into groups of kQ8Group = 32:
//   amax_g = max |x_i| over the group
//   amax_g == 0, or 127 / amax_g overflows (amax_g subnormal):  sx_g = 0, q_i = 0
//   some x_i not finite:  sx_g = NaN, q_i = 0 (the outputs become NaN, as the float
//                         products would be NaN or infinite)
//   otherwise:            sx_g = amax_g / 127, q_i = clamp(rint(x_i * (127 / amax_g)),
//                         -127, 127), float arithmetic, rint rounding half to even.
//   Symmetric per group (llama.cpp's Q8_0): a group of 32 keeps an outlier channel
//   from costing the whole row its precision, as one scale per row (the hybrid
//   dynamic_int8 kernel, XNNPACK's qd8) would.
// Products, weight row r, activation row b, group g (G = depth / 32 groups):
//   d_g   = sum_{i in g} q_w[r, i] * q_i                       (int32, exact)
//   c_g   = scale_w[r, block of g] * sx_g                      (float multiply)
//   acc[g % 8] = fma(float(d_g), c_g, acc[g % 8])              (8 lanes, g ascending,
//                                                               acc starts at +0)
//   out[b, r] = ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7))
//               (+ bias[r], a final float add)
// Weights: int4 two's complement, two per byte, low nibble first (QUANT_SPEC.md), read
// as the file stores them (no repacking, no copy, nothing done at Prepare). Blocks of
// the weight scales are a multiple of 32 that divides depth (per channel: block =
// depth); depth is a multiple of 32. Other layouts keep the exact float GEMV
// (Int4Q8Supports).
//
// Measured (gemma3-tiny, weight_only_int4, every eval window through this path with a
// prefill length of 2, 64 windows of 256): blocks of 32 dPPL +0.391% against float
// activations' +0.382%, mean KL to the float model 5.44e-3 against 5.39e-3, same top-1
// 94.66% against 94.66%; per channel dPPL +0.389% against +0.392%. Logits of decode
// steps move by <= 0.6% of the largest logit (e2e int4_int8_activations_test).
// Used for decode only: for 128-row prefill chunks a 4-row tile version of this
// product measured no faster than dequantized rows times the float GEMM (255-269 vs
// 257-275 tokens/s, SmolLM2-135M shape, 1 thread), which also keeps prefill exact.
#ifndef LITEQ_RUNTIME_KERNELS_WEIGHT_ONLY_INT4_Q8_H_
#define LITEQ_RUNTIME_KERNELS_WEIGHT_ONLY_INT4_Q8_H_

#include <cstddef>
#include <cstdint>

#include "runtime/kernels/weight_only_dot.h"

namespace liteq::runtime {

inline constexpr size_t kQ8Group = 32;

// Whether the int4 x int8 GEMV handles this weight layout.
bool Int4Q8Supports(const WeightOnlyMatrix& w);

// One quantized activation row, in the layout the kernels read:
//   q:       the int8 values, each 64 consecutive values d0..d63 stored as the 32 even
//            ones then the 32 odd ones (the order of the low and high nibbles of 32
//            weight bytes); a last half piece (depth % 64 == 32) as 16 even, 16 zero,
//            16 odd, 16 zero; zeros up to a multiple of 8 groups (256 values).
//            Q8RowBytes(depth) bytes.
//   scales:  sx_g, then zeros up to a multiple of 8 groups. Q8RowGroups(depth) floats.
//   offsets: 8 * sum of the group's q (the kernels use unsigned nibbles u = q_w + 8 and
//            subtract it), zeros as the scales.
struct Q8Row {
  int8_t* q = nullptr;
  float* scales = nullptr;
  int32_t* offsets = nullptr;
};
size_t Q8RowBytes(size_t depth);
size_t Q8RowGroups(size_t depth);
// Bytes of scratch for `rows` quantized rows of `depth` (Q8RowsInScratch lays them out).
size_t Q8ScratchBytes(size_t depth, size_t rows);
// Row `i` of the rows laid out in scratch (at least Q8ScratchBytes bytes).
Q8Row Q8RowInScratch(uint8_t* scratch, size_t depth, size_t rows, size_t i);

// Quantizes x[0, depth) into `row` (depth a multiple of kQ8Group).
void ReferenceQuantizeQ8Activations(const float* x, size_t depth, const Q8Row& row);
void QuantizeQ8Activations(const float* x, size_t depth, const Q8Row& row);

struct Int4Q8GemvArgs {
  const Q8Row* x = nullptr;  // one per activation row
  size_t batches = 0;
  const float* bias = nullptr;  // [rows] or null
  float* out = nullptr;         // [batches, ldo]
  size_t ldo = 0;
};

// Rows [r_begin, r_end) of every activation row; w must satisfy Int4Q8Supports.
void ReferenceInt4Q8Gemv(const WeightOnlyMatrix& w, const Int4Q8GemvArgs& a, size_t r_begin,
                         size_t r_end);
void Int4Q8Gemv(const WeightOnlyMatrix& w, const Int4Q8GemvArgs& a, size_t r_begin, size_t r_end);

namespace internal {
// AVX2 versions, only called when the CPU has AVX2 and FMA.
void QuantizeQ8ActivationsAvx2(const float* x, size_t depth, const Q8Row& row);
void Int4Q8GemvAvx2(const WeightOnlyMatrix& w, const Int4Q8GemvArgs& a, size_t r_begin,
                    size_t r_end);
}  // namespace internal

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_WEIGHT_ONLY_INT4_Q8_H_
