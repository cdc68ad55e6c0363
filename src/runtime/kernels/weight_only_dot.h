// Products of float activations with int8/int4 symmetric weights as weight-only
// models store them (QUANT_SPEC.md): w[r, d] = float(q[r, d]) * scale[(r * depth + d) /
// block], q row-major [rows, depth], int4 packed two per byte, low nibble first
// (element e in byte e / 2), two's complement.
//
//   WeightOnlyGemv:     out[b, r] = sum_d x[b, d] * w[r, d] for a few activation rows
//                       (decode). Reads each weight once, converts it in registers and
//                       never writes a float copy. Sums each block of `block` weights,
//                       then multiplies by the block's scale: a different rounding
//                       order than dequantize-then-dot, equal up to
//                       kWeightOnlyDotRelativeTolerance.
//   DequantizeWeightRows: rows of w as float (prefill: a chunk of rows is dequantized
//                       once, then the float GEMM runs over every activation row). The
//                       values are exactly float(q) * scale, as DEQUANTIZE computes.
//
// Each has a scalar reference (the specification tests use) and a fast version that
// uses AVX2 when the CPU has it (checked once at run time; the build stays generic
// x86-64) and the reference otherwise.
#ifndef LITEQ_RUNTIME_KERNELS_WEIGHT_ONLY_DOT_H_
#define LITEQ_RUNTIME_KERNELS_WEIGHT_ONLY_DOT_H_

#include <cstddef>
#include <cstdint>

namespace liteq::runtime {

struct WeightOnlyMatrix {
  const uint8_t* data = nullptr;  // int8 [rows, depth] or packed int4
  bool int4 = false;
  size_t rows = 0, depth = 0;
  size_t block = 0;               // weights per scale along depth; divides depth
  const float* scales = nullptr;  // rows * depth / block
};

struct WeightOnlyGemvArgs {
  const float* x = nullptr;  // activations [batches, ldx]
  size_t ldx = 0;
  size_t batches = 0;
  const float* bias = nullptr;  // [rows] or null
  float* out = nullptr;         // [batches, ldo], entry (b, r) at b * ldo + r
  size_t ldo = 0;
};

// Maximum |fast - reference| relative to sum_d |x[b, d] * w[r, d]|: float
// reassociation (a few ulps times log2(depth)) plus the per-block scaling.
inline constexpr float kWeightOnlyDotRelativeTolerance = 1e-5f;

// Rows [r_begin, r_end) of every batch row.
void ReferenceWeightOnlyGemv(const WeightOnlyMatrix& w, const WeightOnlyGemvArgs& a, size_t r_begin,
                             size_t r_end);
void WeightOnlyGemv(const WeightOnlyMatrix& w, const WeightOnlyGemvArgs& a, size_t r_begin,
                    size_t r_end);

// dst[(r - r_begin) * depth + d] = float(q[r, d]) * scale for r in [r_begin, r_end).
void ReferenceDequantizeWeightRows(const WeightOnlyMatrix& w, size_t r_begin, size_t r_end,
                                   float* dst);
void DequantizeWeightRows(const WeightOnlyMatrix& w, size_t r_begin, size_t r_end, float* dst);

// Whether the fast functions use AVX2 on this CPU (tests report it).
bool WeightOnlyDotUsesAvx2();

namespace internal {
// The AVX2 implementations; only called when the CPU supports AVX2. They return false
// for layouts they do not handle (the caller then runs the reference).
bool WeightOnlyGemvAvx2(const WeightOnlyMatrix& w, const WeightOnlyGemvArgs& a, size_t r_begin,
                        size_t r_end);
bool DequantizeWeightRowsAvx2(const WeightOnlyMatrix& w, size_t r_begin, size_t r_end, float* dst);
bool CpuHasAvx2Fma();
}  // namespace internal

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_WEIGHT_ONLY_DOT_H_
