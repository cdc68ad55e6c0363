// BATCH_MATMUL int8 (TFLite batch_matmul.cc + reference_ops::BatchMatMul, quantized):
//   acc = sum_k (lhs[b][m][k] - zp_lhs) * (rhs[b][k][n] - zp_rhs)      (int32)
//   out[b][m][n] = clamp(MBQM(acc, m, shift) + zp_out)   (double rounding)
// with m, shift = QuantizeMultiplier(double(s_lhs) * double(s_rhs) / double(s_out)).
// int16 -> int16 (reference_ops::BatchMatMul<int16_t, int64_t>, which TFLite runs for
// every kernel type): zero points 0, int64 accumulator and the int64
// MultiplyByQuantizedMultiplier (16-bit reduced multiplier). Both measured against
// LiteRT (tests/e2e/litert_int_conformance_test.cc).
// adj_x / adj_y transpose the last two dimensions of lhs / rhs. The batch dimensions
// broadcast like a binary op (each batch index of size 1 repeats).
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_BATCH_MATMUL_INT_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_BATCH_MATMUL_INT_H_

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/kernels/quantized/broadcast.h"
#include "runtime/kernels/quantized/quantized_common.h"

namespace liteq::runtime::quantized {

struct BatchMatMulInt8Params {
  int32_t lhs_offset = 0;  // -zero points
  int32_t rhs_offset = 0;
  int32_t output_offset = 0;
  quant::QuantizedMultiplier multiplier;
  bool adj_x = false;
  bool adj_y = false;
  int64_t rows = 0;       // M
  int64_t depth = 0;      // K
  int64_t cols = 0;       // N
  BroadcastPlan batches;  // over the leading (batch) dimensions
  std::vector<int64_t> output_shape;
};

// Shapes have rank >= 2; InvalidArgument when the inner dimensions disagree or the
// batch dimensions do not broadcast.
Result<BatchMatMulInt8Params> PrepareBatchMatMulInt8(
    quant::QuantParams lhs, std::span<const int64_t> lhs_shape, quant::QuantParams rhs,
    std::span<const int64_t> rhs_shape, quant::QuantParams output, bool adj_x, bool adj_y);

// Zero points must be 0.
Result<BatchMatMulInt8Params> PrepareBatchMatMulInt16(
    quant::QuantParams lhs, std::span<const int64_t> lhs_shape, quant::QuantParams rhs,
    std::span<const int64_t> rhs_shape, quant::QuantParams output, bool adj_x, bool adj_y);

void BatchMatMulInt8(const BatchMatMulInt8Params& params, std::span<const int8_t> lhs,
                     std::span<const int8_t> rhs, std::span<int8_t> output);
void BatchMatMulInt16(const BatchMatMulInt8Params& params, std::span<const int16_t> lhs,
                      std::span<const int16_t> rhs, std::span<int16_t> output);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_BATCH_MATMUL_INT_H_
