#include "runtime/kernels/quantized/batch_matmul_int.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "runtime/kernels/quantized/elementwise_int.h"

namespace liteq::runtime::quantized {

namespace {

Result<BatchMatMulInt8Params> PrepareBatchMatMul(IntType type, quant::QuantParams lhs,
                                                 std::span<const int64_t> lhs_shape,
                                                 quant::QuantParams rhs,
                                                 std::span<const int64_t> rhs_shape,
                                                 quant::QuantParams output, bool adj_x,
                                                 bool adj_y) {
  LITEQ_RETURN_IF_ERROR(CheckScale(lhs.scale, "BATCH_MATMUL lhs"));
  LITEQ_RETURN_IF_ERROR(CheckScale(rhs.scale, "BATCH_MATMUL rhs"));
  LITEQ_RETURN_IF_ERROR(CheckScale(output.scale, "BATCH_MATMUL output"));
  // int16 operands are symmetric (TFLite batch_matmul.cc checks zero point 0).
  const int32_t zmin = type == IntType::kInt8 ? -128 : 0;
  const int32_t zmax = type == IntType::kInt8 ? 127 : 0;
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(lhs.zero_point, zmin, zmax, "BATCH_MATMUL lhs"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(rhs.zero_point, zmin, zmax, "BATCH_MATMUL rhs"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(output.zero_point, zmin, zmax, "BATCH_MATMUL output"));
  if (lhs_shape.size() < 2 || rhs_shape.size() < 2) {
    return InvalidArgumentError("BATCH_MATMUL operands need rank >= 2");
  }
  BatchMatMulInt8Params p;
  const size_t lr = lhs_shape.size();
  const size_t rr = rhs_shape.size();
  p.rows = adj_x ? lhs_shape[lr - 1] : lhs_shape[lr - 2];
  p.depth = adj_x ? lhs_shape[lr - 2] : lhs_shape[lr - 1];
  const int64_t rhs_depth = adj_y ? rhs_shape[rr - 1] : rhs_shape[rr - 2];
  p.cols = adj_y ? rhs_shape[rr - 2] : rhs_shape[rr - 1];
  if (p.depth != rhs_depth || p.rows < 0 || p.cols < 0 || p.depth < 0) {
    return InvalidArgumentError("BATCH_MATMUL inner dimensions differ: " + std::to_string(p.depth) +
                                " vs " + std::to_string(rhs_depth));
  }
  LITEQ_ASSIGN_OR_RETURN(p.batches,
                         MakeBroadcastPlan(lhs_shape.first(lr - 2), rhs_shape.first(rr - 2)));
  p.output_shape = p.batches.output_shape;
  p.output_shape.push_back(p.rows);
  p.output_shape.push_back(p.cols);
  p.lhs_offset = -lhs.zero_point;
  p.rhs_offset = -rhs.zero_point;
  p.output_offset = output.zero_point;
  p.adj_x = adj_x;
  p.adj_y = adj_y;
  const double real = static_cast<double>(lhs.scale) * static_cast<double>(rhs.scale) /
                      static_cast<double>(output.scale);
  // The int64 MultiplyByQuantizedMultiplier of the 16-bit path takes shifts <= 7.
  LITEQ_ASSIGN_OR_RETURN(p.multiplier,
                         PrepareMultiplier(real, type == IntType::kInt8 ? 30 : 7, "BATCH_MATMUL"));
  return p;
}

template <typename T>
void BatchMatMulImpl(const BatchMatMulInt8Params& p, std::span<const T> lhs, std::span<const T> rhs,
                     std::span<T> output) {
  ForEachBatchMatMulSum<T>(p, lhs, rhs, output, [&p](int64_t sum) {
    // LiteRT runs BATCH_MATMUL in TFLite's kernel, built with double rounding:
    // measured, tests/e2e/litert_int_conformance_test.cc.
    int32_t out;
    if constexpr (std::is_same_v<T, int8_t>) {
      // int32 accumulation with wrap-around, as TFLite (see fully_connected_int.cc).
      const auto acc = static_cast<int32_t>(static_cast<uint32_t>(sum));
      out = quant::MultiplyByQuantizedMultiplier(acc, p.multiplier.multiplier, p.multiplier.shift);
    } else {
      out = quant::MultiplyByQuantizedMultiplier(sum, p.multiplier.multiplier, p.multiplier.shift);
    }
    out += p.output_offset;
    return static_cast<T>(
        std::clamp<int32_t>(out, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
  });
}

}  // namespace

Result<BatchMatMulInt8Params> PrepareBatchMatMulInt8(
    quant::QuantParams lhs, std::span<const int64_t> lhs_shape, quant::QuantParams rhs,
    std::span<const int64_t> rhs_shape, quant::QuantParams output, bool adj_x, bool adj_y) {
  return PrepareBatchMatMul(IntType::kInt8, lhs, lhs_shape, rhs, rhs_shape, output, adj_x, adj_y);
}

Result<BatchMatMulInt8Params> PrepareBatchMatMulInt16(
    quant::QuantParams lhs, std::span<const int64_t> lhs_shape, quant::QuantParams rhs,
    std::span<const int64_t> rhs_shape, quant::QuantParams output, bool adj_x, bool adj_y) {
  return PrepareBatchMatMul(IntType::kInt16, lhs, lhs_shape, rhs, rhs_shape, output, adj_x, adj_y);
}

void BatchMatMulInt8(const BatchMatMulInt8Params& p, std::span<const int8_t> lhs,
                     std::span<const int8_t> rhs, std::span<int8_t> output) {
  BatchMatMulImpl(p, lhs, rhs, output);
}

void BatchMatMulInt16(const BatchMatMulInt8Params& p, std::span<const int16_t> lhs,
                      std::span<const int16_t> rhs, std::span<int16_t> output) {
  BatchMatMulImpl(p, lhs, rhs, output);
}

}  // namespace liteq::runtime::quantized
