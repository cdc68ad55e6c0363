#include "runtime/kernels/quantized/gather_int.h"

#include <algorithm>
#include <string>

namespace liteq::runtime::quantized {
namespace {

Status CheckIndex(int32_t index, int64_t rows, size_t position) {
  if (index < 0 || index >= rows) {
    return OutOfRangeError("lookup index " + std::to_string(index) + " at position " +
                           std::to_string(position) + " is outside [0, " + std::to_string(rows) +
                           ")");
  }
  return Status::Ok();
}

Status CheckLayout(size_t table_values, int64_t rows, int64_t row_size, size_t scales,
                   size_t indices, size_t output) {
  if (rows < 0 || row_size < 0 || table_values < static_cast<size_t>(rows * row_size)) {
    return InvalidArgumentError("lookup table is smaller than its shape");
  }
  if (scales != 0 && scales != 1 && scales != static_cast<size_t>(rows)) {
    return InvalidArgumentError("lookup table has " + std::to_string(scales) + " scales for " +
                                std::to_string(rows) + " rows");
  }
  if (output != indices * static_cast<size_t>(row_size)) {
    return InvalidArgumentError("lookup output size does not match indices x row size");
  }
  return Status::Ok();
}

// Reads int4 value `i` of a packed buffer (low nibble first), sign-extended.
int8_t Int4At(std::span<const uint8_t> packed, int64_t i) {
  const uint8_t byte = packed[static_cast<size_t>(i / 2)];
  const int nibble = (i % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
  return static_cast<int8_t>(nibble >= 8 ? nibble - 16 : nibble);
}

template <typename ValueAt>
Status HybridLookup(int64_t rows, int64_t row_size, std::span<const float> scales,
                    std::span<const int32_t> indices, std::span<float> output, ValueAt value_at) {
  for (size_t i = 0; i < indices.size(); ++i) {
    const int32_t idx = indices[i];
    LITEQ_RETURN_IF_ERROR(CheckIndex(idx, rows, i));
    const double scale = scales.size() == 1 ? scales[0] : scales[static_cast<size_t>(idx)];
    for (int64_t j = 0; j < row_size; ++j) {
      output[i * static_cast<size_t>(row_size) + static_cast<size_t>(j)] =
          static_cast<float>(value_at(idx * row_size + j) * scale);
    }
  }
  return Status::Ok();
}

}  // namespace

Status GatherInt8Rows(std::span<const int8_t> table, int64_t rows, int64_t row_size,
                      std::span<const int32_t> indices, std::span<int8_t> output) {
  LITEQ_RETURN_IF_ERROR(
      CheckLayout(table.size(), rows, row_size, 0, indices.size(), output.size()));
  const auto n = static_cast<size_t>(row_size);
  for (size_t i = 0; i < indices.size(); ++i) {
    LITEQ_RETURN_IF_ERROR(CheckIndex(indices[i], rows, i));
    const auto src = table.subspan(static_cast<size_t>(indices[i]) * n, n);
    std::copy(src.begin(), src.end(), output.begin() + static_cast<std::ptrdiff_t>(i * n));
  }
  return Status::Ok();
}

Status EmbeddingLookupHybridInt8(std::span<const int8_t> table, int64_t rows, int64_t row_size,
                                 std::span<const float> scales, std::span<const int32_t> indices,
                                 std::span<float> output) {
  if (scales.empty()) return InvalidArgumentError("int8 lookup table has no scale");
  LITEQ_RETURN_IF_ERROR(
      CheckLayout(table.size(), rows, row_size, scales.size(), indices.size(), output.size()));
  return HybridLookup(rows, row_size, scales, indices, output,
                      [&](int64_t k) { return table[static_cast<size_t>(k)]; });
}

Status EmbeddingLookupHybridInt8Packed(const PackedInt8Weights& table,
                                       std::span<const float> scales,
                                       std::span<const int32_t> indices, std::span<float> output) {
  if (scales.empty()) return InvalidArgumentError("int8 lookup table has no scale");
  const auto rows = static_cast<int64_t>(table.rows());
  const auto row_size = static_cast<int64_t>(table.depth());
  LITEQ_RETURN_IF_ERROR(CheckLayout(static_cast<size_t>(rows * row_size), rows, row_size,
                                    scales.size(), indices.size(), output.size()));
  return HybridLookup(rows, row_size, scales, indices, output, [&](int64_t k) {
    return table.at(static_cast<size_t>(k / row_size), static_cast<size_t>(k % row_size));
  });
}

Status EmbeddingLookupHybridInt4(std::span<const uint8_t> packed_table, int64_t rows,
                                 int64_t row_size, std::span<const float> scales,
                                 std::span<const int32_t> indices, std::span<float> output) {
  if (scales.empty()) return InvalidArgumentError("int4 lookup table has no scale");
  if (rows < 0 || row_size < 0 ||
      packed_table.size() < static_cast<size_t>((rows * row_size + 1) / 2)) {
    return InvalidArgumentError("int4 lookup table is smaller than its shape");
  }
  LITEQ_RETURN_IF_ERROR(CheckLayout(static_cast<size_t>(rows * row_size), rows, row_size,
                                    scales.size(), indices.size(), output.size()));
  return HybridLookup(rows, row_size, scales, indices, output,
                      [&](int64_t k) { return Int4At(packed_table, k); });
}

}  // namespace liteq::runtime::quantized
