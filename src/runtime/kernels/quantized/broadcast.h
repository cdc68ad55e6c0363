// NumPy-style broadcasting of two shapes (right-aligned; a dimension of 1 repeats),
// as TFLite's binary ops do (up to 6-D in TFLite; any rank here).
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_BROADCAST_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_BROADCAST_H_

#include <cstdint>
#include <span>
#include <vector>

#include "liteq/status.h"

namespace liteq::runtime::quantized {

struct BroadcastPlan {
  std::vector<int64_t> output_shape;
  std::vector<int64_t> stride1;  // element strides into input 1 (0 where broadcast)
  std::vector<int64_t> stride2;
  int64_t input1_size = 0;
  int64_t input2_size = 0;
  int64_t output_size = 0;
};

// InvalidArgument when the shapes are incompatible or a dimension is negative.
Result<BroadcastPlan> MakeBroadcastPlan(std::span<const int64_t> shape1,
                                        std::span<const int64_t> shape2);

// Calls f(index1, index2) for every index of the outer `dims` dimensions of the output
// (row-major), with the input offsets of that index's first element: an odometer over
// those dimensions only.
template <typename F>
void ForEachBroadcastPrefix(const BroadcastPlan& plan, size_t dims, F&& f) {
  if (plan.output_size == 0) return;
  std::vector<int64_t> counter(dims, 0);
  int64_t i1 = 0;
  int64_t i2 = 0;
  int64_t count = 1;
  for (size_t d = 0; d < dims; ++d) count *= plan.output_shape[d];
  for (int64_t n = 0; n < count; ++n) {
    f(i1, i2);
    // Odometer increment from the innermost of the `dims` dimensions.
    for (size_t d = dims; d-- > 0;) {
      ++counter[d];
      i1 += plan.stride1[d];
      i2 += plan.stride2[d];
      if (counter[d] < plan.output_shape[d]) break;
      i1 -= plan.stride1[d] * counter[d];
      i2 -= plan.stride2[d] * counter[d];
      counter[d] = 0;
    }
  }
}

// Calls f(index1, index2, output_index) for every output element in row-major order.
template <typename F>
void ForEachBroadcastIndex(const BroadcastPlan& plan, F&& f) {
  int64_t out = 0;
  ForEachBroadcastPrefix(plan, plan.output_shape.size(),
                         [&](int64_t i1, int64_t i2) { f(i1, i2, out++); });
}

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_BROADCAST_H_
