// A broadcast (broadcast.h) walked in rows for the vectorized int8 MUL / ADD / SUB
// (requantize_rows.h): the output is cut into rows of `row_length` contiguous
// elements along which each input either advances with the output (step 1) or
// repeats one element (step 0). Trailing dimensions are merged while both inputs keep
// that pattern, so same-shape operands are one row, x [.., D] * w [D] is a row of D
// per leading index, and x [.., D] * s [.., 1] (RMSNorm's x * rsqrt(mean)) a row of D
// against one repeated element. Built once at Prepare: Eval only reads the offsets.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_BROADCAST_ROWS_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_BROADCAST_ROWS_H_

#include <cstdint>
#include <vector>

#include "runtime/kernels/quantized/broadcast.h"

namespace liteq::runtime::quantized {

struct BroadcastRows {
  size_t row_length = 0;
  size_t step1 = 0;  // 0 or 1
  size_t step2 = 0;
  std::vector<int64_t> offset1;  // per row: the row's first element in input 1
  std::vector<int64_t> offset2;  // (row r's output starts at r * row_length)
};

BroadcastRows MakeBroadcastRows(const BroadcastPlan& plan);

// Calls f(index1, index2, output_index) at the start of every row.
template <typename F>
void ForEachBroadcastRow(const BroadcastRows& rows, F&& f) {
  for (size_t r = 0; r < rows.offset1.size(); ++r) {
    f(rows.offset1[r], rows.offset2[r], static_cast<int64_t>(r * rows.row_length));
  }
}

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_BROADCAST_ROWS_H_
