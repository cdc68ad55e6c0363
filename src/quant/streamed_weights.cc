#include "quant/streamed_weights.h"

#include <algorithm>
#include <cstring>

#include "quant/quant_params.h"

namespace liteq::quant {
namespace {

Status CheckLayout(const graph::Buffer& original, const WeightLayout& layout,
                   const std::string& name) {
  if (layout.rows <= 0 || layout.cols <= 0 || (layout.bits != 8 && layout.bits != 4) ||
      layout.block_size < 0 || (layout.block_size > 0 && layout.cols % layout.block_size != 0)) {
    return InvalidArgumentError("quantizing '" + name + "': bad layout [" +
                                std::to_string(layout.rows) + ", " + std::to_string(layout.cols) +
                                "] bits " + std::to_string(layout.bits) + " block " +
                                std::to_string(layout.block_size));
  }
  if (original.size != static_cast<size_t>(layout.rows * layout.cols) * sizeof(float)) {
    return InvalidArgumentError("quantizing '" + name + "': buffer has " +
                                std::to_string(original.size) + " bytes, not float32 [" +
                                std::to_string(layout.rows) + ", " + std::to_string(layout.cols) +
                                "]");
  }
  return Status::Ok();
}

// Calls fn(first_row, row_count, floats) for consecutive slices of rows. Slices hold
// an even number of values (except the last), so int4 pairs never straddle two.
template <typename Fn>
Status ForEachRowSlice(const graph::Buffer& original, const WeightLayout& layout,
                       int64_t slice_floats, Fn&& fn) {
  int64_t slice_rows = std::max<int64_t>(1, slice_floats / layout.cols);
  if (slice_rows % 2 != 0 && layout.cols % 2 != 0 && slice_rows < layout.rows) ++slice_rows;
  std::vector<float> slice;
  for (int64_t r = 0; r < layout.rows; r += slice_rows) {
    const int64_t n = std::min(slice_rows, layout.rows - r);
    slice.resize(static_cast<size_t>(n * layout.cols));
    LITEQ_RETURN_IF_ERROR(original.ReadRange(
        static_cast<size_t>(r * layout.cols) * sizeof(float),
        std::span<uint8_t>(reinterpret_cast<uint8_t*>(slice.data()), slice.size() * sizeof(float))));
    LITEQ_RETURN_IF_ERROR(fn(r, n, std::span<const float>(slice)));
  }
  return Status::Ok();
}

Result<float> PerTensorScale(const graph::Buffer& original, const WeightLayout& layout,
                             int64_t slice_floats) {
  float abs_max = 0.0f;
  LITEQ_RETURN_IF_ERROR(ForEachRowSlice(original, layout, slice_floats,
                                        [&](int64_t, int64_t, std::span<const float> values) {
                                          abs_max = std::max(abs_max, WeightsAbsMax(values));
                                          return Status::Ok();
                                        }));
  return SymmetricScale(abs_max, SymmetricQMax(layout.bits));
}

// One slice quantized: its own rows' scales, or the given per-tensor scale.
Result<SymmetricWeights> QuantizeSlice(std::span<const float> values, int64_t rows,
                                       const WeightLayout& layout, float tensor_scale) {
  if (layout.per_tensor) return QuantizeWeightsWithScale(values, tensor_scale, layout.bits);
  const int64_t block = layout.block_size > 0 ? layout.block_size : layout.cols;
  return QuantizeWeightsBlockwise(values, rows, layout.cols, block, layout.bits);
}

}  // namespace

Result<std::vector<float>> StreamedSymmetricScales(const graph::Buffer& original,
                                                   const WeightLayout& layout,
                                                   const std::string& name, int64_t slice_floats) {
  LITEQ_RETURN_IF_ERROR(CheckLayout(original, layout, name));
  if (layout.per_tensor) {
    Result<float> scale = PerTensorScale(original, layout, slice_floats);
    if (!scale.ok()) return scale.status().WithContext("quantizing '" + name + "'");
    return std::vector<float>{*scale};
  }
  std::vector<float> scales;
  Status s = ForEachRowSlice(original, layout, slice_floats,
                             [&](int64_t, int64_t rows, std::span<const float> values) -> Status {
                               LITEQ_ASSIGN_OR_RETURN(SymmetricWeights w,
                                                      QuantizeSlice(values, rows, layout, 0.0f));
                               scales.insert(scales.end(), w.scales.begin(), w.scales.end());
                               return Status::Ok();
                             });
  if (!s.ok()) return s.WithContext("quantizing '" + name + "'");
  return scales;
}

Status StreamedSymmetricValues(const graph::Buffer& original, const WeightLayout& layout,
                               const std::string& name, std::span<uint8_t> out,
                               int64_t slice_floats) {
  LITEQ_RETURN_IF_ERROR(CheckLayout(original, layout, name));
  const int64_t count = layout.rows * layout.cols;
  const graph::DType dtype = layout.bits == 4 ? graph::DType::kInt4 : graph::DType::kInt8;
  if (out.size() != graph::TensorBytes(dtype, count)) {
    return InternalError("quantizing '" + name + "': output has " + std::to_string(out.size()) +
                         " bytes, expected " + std::to_string(graph::TensorBytes(dtype, count)));
  }
  float tensor_scale = 0.0f;
  if (layout.per_tensor) {
    Result<float> scale = PerTensorScale(original, layout, slice_floats);
    if (!scale.ok()) return scale.status().WithContext("quantizing '" + name + "'");
    tensor_scale = *scale;
  }
  Status s = ForEachRowSlice(
      original, layout, slice_floats,
      [&](int64_t first_row, int64_t rows, std::span<const float> values) -> Status {
        LITEQ_ASSIGN_OR_RETURN(SymmetricWeights w,
                               QuantizeSlice(values, rows, layout, tensor_scale));
        const auto first = static_cast<size_t>(first_row * layout.cols);
        if (layout.bits == 4) {
          // ForEachRowSlice starts every slice but the last on an even value index.
          const std::vector<uint8_t> packed = PackInt4(w.values);
          std::memcpy(out.data() + first / 2, packed.data(), packed.size());
        } else {
          std::memcpy(out.data() + first, w.values.data(), w.values.size());
        }
        return Status::Ok();
      });
  if (!s.ok()) return s.WithContext("quantizing '" + name + "'");
  return Status::Ok();
}

graph::Buffer LazySymmetricWeights(graph::Buffer original, const WeightLayout& layout,
                                   std::string name) {
  const size_t bytes = graph::TensorBytes(layout.bits == 4 ? graph::DType::kInt4
                                                           : graph::DType::kInt8,
                                          layout.rows * layout.cols);
  return graph::Buffer::Lazy(bytes, [original = std::move(original), layout,
                                     name = std::move(name)](std::span<uint8_t> out) {
    return StreamedSymmetricValues(original, layout, name, out);
  });
}

graph::Buffer LazySymmetricWeights(graph::Buffer original, int64_t rows, int64_t cols,
                                   bool per_tensor, int bits, int64_t block_size,
                                   std::string name) {
  return LazySymmetricWeights(std::move(original),
                              WeightLayout{rows, cols, per_tensor, bits, block_size},
                              std::move(name));
}

}  // namespace liteq::quant
