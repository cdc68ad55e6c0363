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

#include "liteq/status.h"
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

// The reference loop shared by the TFLite-rounding and XNNPACK-rounding kernels: for
// every output element, out = requantize(sum_k (a + lhs_offset) * (b + rhs_offset)),
// the sum in int64 (callers reduce it as their arithmetic does) handed to
// requantize(int64_t sum) -> T.
template <typename T, typename Requantize>
void ForEachBatchMatMulSum(const BatchMatMulInt8Params& p, std::span<const T> lhs,
                           std::span<const T> rhs, std::span<T> output, Requantize&& requantize) {
  const int64_t lhs_matrix = p.rows * p.depth;
  const int64_t rhs_matrix = p.depth * p.cols;
  const int64_t out_matrix = p.rows * p.cols;
  LITEQ_CHECK(lhs.size() == static_cast<size_t>(p.batches.input1_size * lhs_matrix));
  LITEQ_CHECK(rhs.size() == static_cast<size_t>(p.batches.input2_size * rhs_matrix));
  LITEQ_CHECK(output.size() == static_cast<size_t>(p.batches.output_size * out_matrix));
  ForEachBroadcastIndex(p.batches, [&](int64_t bl, int64_t br, int64_t bo) {
    const T* a = lhs.data() + bl * lhs_matrix;
    const T* b = rhs.data() + br * rhs_matrix;
    T* y = output.data() + bo * out_matrix;
    for (int64_t m = 0; m < p.rows; ++m) {
      for (int64_t n = 0; n < p.cols; ++n) {
        int64_t sum = 0;
        for (int64_t k = 0; k < p.depth; ++k) {
          const int32_t av = a[p.adj_x ? k * p.rows + m : m * p.depth + k];
          const int32_t bv = b[p.adj_y ? n * p.depth + k : k * p.cols + n];
          sum += int64_t{av + p.lhs_offset} * (bv + p.rhs_offset);
        }
        y[m * p.cols + n] = requantize(sum);
      }
    }
  });
}

void BatchMatMulInt8(const BatchMatMulInt8Params& params, std::span<const int8_t> lhs,
                     std::span<const int8_t> rhs, std::span<int8_t> output);
void BatchMatMulInt16(const BatchMatMulInt8Params& params, std::span<const int16_t> lhs,
                      std::span<const int16_t> rhs, std::span<int16_t> output);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_BATCH_MATMUL_INT_H_
