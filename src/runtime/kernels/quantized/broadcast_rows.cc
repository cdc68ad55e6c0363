#include "runtime/kernels/quantized/broadcast_rows.h"

namespace liteq::runtime::quantized {

BroadcastRows MakeBroadcastRows(const BroadcastPlan& plan) {
  BroadcastRows rows;
  if (plan.output_size == 0) return rows;
  const size_t rank = plan.output_shape.size();
  if (rank == 0) {  // scalars: one row of one element
    rows.row_length = 1;
    rows.offset1 = {0};
    rows.offset2 = {0};
    return rows;
  }
  // The innermost stride is 0 (broadcast) or 1 (MakeBroadcastPlan), and stays the
  // step of every dimension merged into the row: a dimension d joins while its
  // strides are the row's step times the row length so far.
  rows.step1 = static_cast<size_t>(plan.stride1[rank - 1]);
  rows.step2 = static_cast<size_t>(plan.stride2[rank - 1]);
  LITEQ_CHECK(rows.step1 <= 1 && rows.step2 <= 1);
  auto length = static_cast<int64_t>(plan.output_shape[rank - 1]);
  size_t outer = rank - 1;  // dimensions [0, outer) are not in the row
  while (outer > 0) {
    const size_t d = outer - 1;
    const bool merges = plan.output_shape[d] == 1 ||
                        (plan.stride1[d] == static_cast<int64_t>(rows.step1) * length &&
                         plan.stride2[d] == static_cast<int64_t>(rows.step2) * length);
    if (!merges) break;
    length *= plan.output_shape[d];
    outer = d;
  }
  rows.row_length = static_cast<size_t>(length);
  const auto count = static_cast<size_t>(plan.output_size / length);
  rows.offset1.reserve(count);
  rows.offset2.reserve(count);
  // The row starts: an odometer over the outer dimensions only (a walk over every
  // output element took a noticeable share of model load time).
  ForEachBroadcastPrefix(plan, outer, [&](int64_t i1, int64_t i2) {
    rows.offset1.push_back(i1);
    rows.offset2.push_back(i2);
  });
  return rows;
}

}  // namespace liteq::runtime::quantized
