// GATHER / EMBEDDING_LOOKUP on quantized tables.
//   int8 GATHER (axis 0 of a [rows, row_size] table): copies rows; the output keeps
//   the table's scale and zero point (QUANT_SPEC), so no arithmetic is involved.
//   Hybrid EMBEDDING_LOOKUP (TFLite embedding_lookup.cc EvalHybrid): int8 or int4
//   table, float output: out[i][j] = float(q[idx][j] * double(scale)), with the
//   per-row scale scale[idx] when the table is quantized per axis 0.
// Indices are checked: an out-of-range index is an OutOfRange error naming it.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_GATHER_INT_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_GATHER_INT_H_

#include <cstdint>
#include <span>

#include "liteq/status.h"
#include "runtime/kernels/quantized/packed_int8.h"

namespace liteq::runtime::quantized {

Status GatherInt8Rows(std::span<const int8_t> table, int64_t rows, int64_t row_size,
                      std::span<const int32_t> indices, std::span<int8_t> output);

// scales: 1 entry (per-tensor) or `rows` entries (per-row); zero point 0.
Status EmbeddingLookupHybridInt8(std::span<const int8_t> table, int64_t rows, int64_t row_size,
                                 std::span<const float> scales, std::span<const int32_t> indices,
                                 std::span<float> output);
// The same lookup from the packed copy of the table (packed_int8.h) that the output
// head's FULLY_CONNECTED made of a tied embedding: identical values, and the model
// file's pages of the table are not touched again.
Status EmbeddingLookupHybridInt8Packed(const PackedInt8Weights& table,
                                       std::span<const float> scales,
                                       std::span<const int32_t> indices, std::span<float> output);
// Packed int4 table (low nibble first, row-major over the whole table).
Status EmbeddingLookupHybridInt4(std::span<const uint8_t> packed_table, int64_t rows,
                                 int64_t row_size, std::span<const float> scales,
                                 std::span<const int32_t> indices, std::span<float> output);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_GATHER_INT_H_
