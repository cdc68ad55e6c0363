// Shape arithmetic shared by the kernels: element counts, axes, numpy broadcasting
// and strided copies.
#ifndef LITEQ_RUNTIME_KERNELS_SHAPE_UTIL_H_
#define LITEQ_RUNTIME_KERNELS_SHAPE_UTIL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "liteq/status.h"

namespace liteq::runtime {

using Shape = std::vector<int32_t>;

// Tensors of higher rank are rejected at Create, so index arrays can live on the stack.
inline constexpr int kMaxRuntimeRank = 16;

std::string ShapeToString(const Shape& shape);
int64_t NumElements(const Shape& shape);  // shapes are validated at Create
// Row-major element strides.
std::vector<int64_t> Strides(const Shape& shape);

// axis in [-rank, rank) -> [0, rank), or -1 if out of range.
int NormalizeAxis(int64_t axis, int rank);

// Numpy broadcast of `shapes`; error text names both shapes when incompatible.
Result<Shape> BroadcastShapes(const std::vector<Shape>& shapes);

// Iteration plan for an elementwise op over up to three broadcast inputs. Dimensions
// are right-aligned and adjacent dimensions with the same broadcast pattern merged,
// so most ops run one long inner loop. Each input's inner stride is 0 or 1.
struct BroadcastPlan {
  static constexpr int kMaxInputs = 3;
  int num_inputs = 0;
  std::vector<int64_t> dims;                             // collapsed output dims (at least one)
  std::array<std::vector<int64_t>, kMaxInputs> strides;  // per input, per collapsed dim
  int64_t inner() const { return dims.back(); }
  int64_t inner_stride(int input) const { return strides[input].back(); }
};
BroadcastPlan MakeBroadcastPlan(const Shape& out, const std::vector<Shape>& inputs);

// Calls row(out_offset, in_offsets, count) for every run of `inner()` output
// elements; input k's element j of the run is at in_offsets[k] + j * inner_stride(k).
template <typename RowFn>
void ForEachBroadcastRow(const BroadcastPlan& plan, RowFn&& row) {
  const int rank = static_cast<int>(plan.dims.size());
  const int64_t inner = plan.dims.back();
  std::array<int64_t, BroadcastPlan::kMaxInputs> offs{};
  std::array<int64_t, kMaxRuntimeRank> idx{};
  int64_t outer = 1;
  for (int d = 0; d + 1 < rank; ++d) outer *= plan.dims[d];
  int64_t out_off = 0;
  for (int64_t r = 0; r < outer; ++r) {
    row(out_off, offs.data(), inner);
    out_off += inner;
    for (int d = rank - 2; d >= 0; --d) {
      if (++idx[d] < plan.dims[d]) {
        for (int k = 0; k < plan.num_inputs; ++k) offs[k] += plan.strides[k][d];
        break;
      }
      idx[d] = 0;
      for (int k = 0; k < plan.num_inputs; ++k) offs[k] -= plan.strides[k][d] * (plan.dims[d] - 1);
    }
  }
}

// Copies a strided view of `src` into dense `dst`: dst element (i0..in) comes from
// src[base + sum(i_d * src_strides[d])] (strides in elements, may be negative).
// Dimensions are merged where possible; a unit inner stride becomes one memcpy.
struct StridedCopyPlan {
  size_t element_size = 0;
  int64_t base = 0;
  std::vector<int64_t> dims;
  std::vector<int64_t> src_strides;
};
StridedCopyPlan MakeStridedCopyPlan(size_t element_size, int64_t base,
                                    const std::vector<int64_t>& dims,
                                    const std::vector<int64_t>& src_strides);
void StridedCopy(const StridedCopyPlan& plan, const void* src, void* dst);
// The copy is a sequence of rows (the innermost merged dimension, contiguous in dst):
// how many, and the copy of rows [row_begin, row_end) only, so threads can split it.
int64_t StridedCopyRows(const StridedCopyPlan& plan);
void StridedCopyRowRange(const StridedCopyPlan& plan, const void* src, void* dst, int64_t row_begin,
                         int64_t row_end);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_SHAPE_UTIL_H_
