#include "runtime/kernels/quantized/broadcast_rows.h"

#include "liteq/status.h"

namespace liteq::runtime::quantized {

bool MakeBroadcastRows(const BroadcastPlan& plan, BroadcastRows* rows) {
  *rows = BroadcastRows{};
  if (plan.output_size == 0) return true;
  const size_t rank = plan.output_shape.size();
  if (rank == 0) {  // scalars: one row of one element
    rows->row_length = 1;
    rows->count = 1;
    return true;
  }
  // The innermost stride is 0 (broadcast) or 1 (MakeBroadcastPlan), and stays the
  // step of every dimension merged into the row: a dimension d joins while its
  // strides are the row's step times the row length so far.
  rows->step1 = static_cast<size_t>(plan.stride1[rank - 1]);
  rows->step2 = static_cast<size_t>(plan.stride2[rank - 1]);
  LITEQ_CHECK(rows->step1 <= 1 && rows->step2 <= 1);
  auto length = static_cast<int64_t>(plan.output_shape[rank - 1]);
  size_t outer = rank - 1;  // dimensions [0, outer) are not in the row
  while (outer > 0) {
    const size_t d = outer - 1;
    const bool merges = plan.output_shape[d] == 1 ||
                        (plan.stride1[d] == static_cast<int64_t>(rows->step1) * length &&
                         plan.stride2[d] == static_cast<int64_t>(rows->step2) * length);
    if (!merges) break;
    length *= plan.output_shape[d];
    outer = d;
  }
  rows->row_length = static_cast<size_t>(length);
  rows->count = static_cast<size_t>(plan.output_size / length);
  // The outer dimensions, innermost first while collecting: size-1 dimensions never
  // move the offsets and are dropped; a dimension whose strides are the inner merged
  // dimension's times its size continues it (the two walk as one).
  std::array<BroadcastRowDim, kMaxBroadcastRowDims> reversed{};
  size_t n = 0;
  for (size_t d = outer; d-- > 0;) {
    const int64_t size = plan.output_shape[d];
    if (size == 1) continue;
    if (n > 0) {
      BroadcastRowDim& inner = reversed[n - 1];
      if (plan.stride1[d] == inner.stride1 * inner.size &&
          plan.stride2[d] == inner.stride2 * inner.size) {
        inner.size *= size;
        continue;
      }
    }
    if (n == kMaxBroadcastRowDims) return false;
    reversed[n++] = {size, plan.stride1[d], plan.stride2[d]};
  }
  rows->num_dims = n;
  for (size_t i = 0; i < n; ++i) rows->dims[i] = reversed[n - 1 - i];
  return true;
}

BroadcastRowCursor::BroadcastRowCursor(const BroadcastRows& rows, size_t first_row) : rows_(&rows) {
  auto rest = static_cast<int64_t>(first_row);
  for (size_t d = rows.num_dims; d-- > 0;) {
    const BroadcastRowDim& dim = rows.dims[d];
    counter_[d] = rest % dim.size;
    rest /= dim.size;
    offset1_ += counter_[d] * dim.stride1;
    offset2_ += counter_[d] * dim.stride2;
  }
}

}  // namespace liteq::runtime::quantized
