#include "runtime/kernels/quantized/broadcast.h"

#include <algorithm>
#include <string>

namespace liteq::runtime::quantized {
namespace {

std::string ShapeString(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace

Result<BroadcastPlan> MakeBroadcastPlan(std::span<const int64_t> shape1,
                                        std::span<const int64_t> shape2) {
  const size_t rank = std::max(shape1.size(), shape2.size());
  BroadcastPlan plan;
  plan.output_shape.assign(rank, 1);
  plan.stride1.assign(rank, 0);
  plan.stride2.assign(rank, 0);
  int64_t s1 = 1;
  int64_t s2 = 1;
  for (size_t k = 0; k < rank; ++k) {  // k counts from the innermost dimension
    const size_t d = rank - 1 - k;
    const int64_t a = k < shape1.size() ? shape1[shape1.size() - 1 - k] : 1;
    const int64_t b = k < shape2.size() ? shape2[shape2.size() - 1 - k] : 1;
    if (a < 0 || b < 0 || (a != b && a != 1 && b != 1)) {
      return InvalidArgumentError("shapes " + ShapeString(shape1) + " and " + ShapeString(shape2) +
                                  " do not broadcast");
    }
    plan.output_shape[d] = (a == 1) ? b : a;
    plan.stride1[d] = (a == 1) ? 0 : s1;
    plan.stride2[d] = (b == 1) ? 0 : s2;
    s1 *= a;
    s2 *= b;
  }
  plan.input1_size = s1;
  plan.input2_size = s2;
  plan.output_size = 1;
  for (int64_t dim : plan.output_shape) plan.output_size *= dim;
  return plan;
}

}  // namespace liteq::runtime::quantized
