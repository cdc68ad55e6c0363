// The statistic of RMSNorm written as builtin ops, run as one kernel per row:
//   [x = DEQUANTIZE(x_q)]  ->  MUL(x, x)  ->  MEAN(last axis)  ->  ADD(eps)  ->  RSQRT
//   [->  QUANTIZE]
// i.e. 1 / sqrt(mean(x^2) + eps) for every row of x (how the exporter spells HF's
// RMSNorm before the two MULs by x and the weight; a static int8 model dequantizes x
// and quantizes the result). Unfused, each op is a pass over [T, D] floats with its own
// hand-off to the pool, and at 2 threads the small ones barely split: on
// SmolLM2-135M's static_int8 prefill the six ops cost ~35 us per norm, 60 norms per
// chunk. Fused, a row's squares go through a per-thread buffer and rows are split over
// the pool.
//
// The result is bit-identical to the ops': the same dequantization (float of the
// double product), float squares, the row sum of SimdSumToDouble (the MEAN kernel's
// order, float_math_simd.h) divided in double, the float ADD, 1 / sqrt in float (IEEE
// exact either way) and FastQuantizeFloatToInt8 per row (elementwise: a value does
// not depend on the chunking).
#ifndef LITEQ_RUNTIME_INVERSE_RMS_FUSION_H_
#define LITEQ_RUNTIME_INVERSE_RMS_FUSION_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "graph/graph.h"
#include "runtime/kernels/kernel.h"

namespace liteq::runtime {

struct InverseRmsMatch {
  int dequantize_op = -1;      // absorbed, or -1 when x is float
  int square_op = -1;          // MUL(x, x), absorbed
  int mean_op = -1;            // absorbed
  int add_op = -1;             // absorbed
  int rsqrt_op = -1;           // absorbed when quantize_op >= 0, else runs the fused kernel
  int quantize_op = -1;        // runs the fused kernel, or -1 (float output)
  int out_op = -1;             // the op that runs the fused kernel
  int32_t input = -1;          // x_q (int8) or x (float)
  int32_t output = -1;         // the RSQRT's or QUANTIZE's output
  std::vector<int32_t> inner;  // tensors between them, never written
  int64_t rows = 0, depth = 0;
  float epsilon = 0.0f;
};

// Every match in `sg` whose inner tensors are plain intermediates (`plain[t]`: written
// by an op, no signature output or state) read only by the next op of the pattern: x
// float32 [..., D] (or int8 per-tensor through the DEQUANTIZE, which nothing else
// reads), the MEAN over the last axis only, eps a float32 constant of one element
// (`constants[t]`: the bytes of constant tensor t, else nullptr), no fused
// activations, the QUANTIZE (if any) to int8 per-tensor.
std::vector<InverseRmsMatch> FindInverseRmsPatterns(const graph::Subgraph& sg,
                                                    const std::vector<bool>& plain,
                                                    std::span<const uint8_t* const> constants);

// The kernel for match `m`, bound to inputs {m.input}, outputs {m.output}.
std::unique_ptr<Kernel> MakeFusedInverseRmsKernel(const graph::Subgraph& sg,
                                                  const InverseRmsMatch& m);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_INVERSE_RMS_FUSION_H_
