// A broadcast (broadcast.h) walked in rows for the vectorized int8 MUL / ADD / SUB
// (requantize_rows.h): the output is cut into rows of `row_length` contiguous
// elements along which each input either advances with the output (step 1) or
// repeats one element (step 0). Trailing dimensions are merged while both inputs keep
// that pattern, so same-shape operands are one row, x [.., D] * w [D] is a row of D
// per leading index, and x [.., D] * s [.., 1] (RMSNorm's x * rsqrt(mean)) a row of D
// against one repeated element.
//
// The rows' start offsets are not stored per row (16 bytes a row: RoPE's [T, H, D/2]
// products in a 128-token prefill have T * H rows, 1.7 MB over SmolLM2-135M's two
// signatures): they follow from the outer dimensions' strides, which BroadcastRowCursor
// walks as an odometer. Outer dimensions whose strides continue each other's are merged,
// so the usual [T, D] patterns have a single outer dimension. Built once at Prepare.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_BROADCAST_ROWS_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_BROADCAST_ROWS_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "runtime/kernels/quantized/broadcast.h"

namespace liteq::runtime::quantized {

// Outer dimensions a BroadcastRows holds after merging; TFLite's binary ops broadcast
// up to 6-D, leaving at most 5 outer dimensions.
inline constexpr size_t kMaxBroadcastRowDims = 6;

struct BroadcastRowDim {
  int64_t size = 1;
  int64_t stride1 = 0;  // element strides into the inputs per step of this dimension
  int64_t stride2 = 0;
};

struct BroadcastRows {
  size_t row_length = 0;
  size_t step1 = 0;  // 0 or 1
  size_t step2 = 0;
  size_t count = 0;  // rows; row r's output starts at r * row_length
  // The outer dimensions, outermost first (dims[0, num_dims)); no dimension of size 1.
  size_t num_dims = 0;
  std::array<BroadcastRowDim, kMaxBroadcastRowDims> dims{};
};

// Fills *rows; false when more than kMaxBroadcastRowDims outer dimensions remain after
// merging (the caller then runs an elementwise kernel instead).
bool MakeBroadcastRows(const BroadcastPlan& plan, BroadcastRows* rows);

// The input offsets of consecutive rows from `first_row` on: one division per outer
// dimension to start, then an odometer step per row. No allocation.
class BroadcastRowCursor {
 public:
  BroadcastRowCursor(const BroadcastRows& rows, size_t first_row);
  int64_t offset1() const { return offset1_; }
  int64_t offset2() const { return offset2_; }
  void Next() {
    for (size_t d = rows_->num_dims; d-- > 0;) {
      const BroadcastRowDim& dim = rows_->dims[d];
      offset1_ += dim.stride1;
      offset2_ += dim.stride2;
      if (++counter_[d] < dim.size) return;
      offset1_ -= dim.stride1 * dim.size;
      offset2_ -= dim.stride2 * dim.size;
      counter_[d] = 0;
    }
  }

 private:
  const BroadcastRows* rows_;
  std::array<int64_t, kMaxBroadcastRowDims> counter_{};
  int64_t offset1_ = 0;
  int64_t offset2_ = 0;
};

// Calls f(index1, index2, output_index) at the start of every row.
template <typename F>
void ForEachBroadcastRow(const BroadcastRows& rows, F&& f) {
  BroadcastRowCursor cursor(rows, 0);
  for (size_t r = 0; r < rows.count; ++r, cursor.Next()) {
    f(cursor.offset1(), cursor.offset2(), static_cast<int64_t>(r * rows.row_length));
  }
}

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_BROADCAST_ROWS_H_
