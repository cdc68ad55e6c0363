// Data-movement kernels that read a strided view of input 0 (TRANSPOSE, SLICE,
// STRIDED_SLICE with constant begin). They work on bytes, so any dtype (including the
// quantized ones to come) is supported.
#ifndef LITEQ_RUNTIME_KERNELS_COPY_KERNELS_H_
#define LITEQ_RUNTIME_KERNELS_COPY_KERNELS_H_

#include <algorithm>
#include <utility>

#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/kernel.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {

class StridedCopyKernel : public Kernel {
 public:
  explicit StridedCopyKernel(StridedCopyPlan plan)
      : plan_(std::move(plan)),
        rows_(StridedCopyRows(plan_)),
        row_bytes_(plan_.dims.back() * static_cast<int64_t>(plan_.element_size)) {}
  Status Eval(const EvalContext& ctx) override {
    const void* src = In<void>(ctx, 0);
    void* dst = Out<void>(ctx, 0);
    // Rows split over the pool from kParallelMinBytes (a cache TRANSPOSE moves 36 KiB
    // per layer and step at max_seq 192): below that a hand-off costs more.
    const int64_t min_rows =
        std::max<int64_t>(1, kParallelMinBytes / std::max<int64_t>(1, row_bytes_));
    ParallelElementwise(ctx.pool, rows_, min_rows, [&](int64_t begin, int64_t end) {
      StridedCopyRowRange(plan_, src, dst, begin, end);
    });
    return Status::Ok();
  }

 private:
  static constexpr int64_t kParallelMinBytes = 32 * 1024;
  StridedCopyPlan plan_;
  int64_t rows_;
  int64_t row_bytes_;
};

// Element size for byte-wise kernels; int4 (packed) cannot be moved element-wise.
inline Result<size_t> ElementSizeForCopy(const PrepareContext& ctx) {
  const size_t size = graph::DTypeSize(ctx.input(0).dtype);
  if (size == 0) {
    return ctx.Unsupported(std::string("element-wise data movement of ") +
                           graph::DTypeName(ctx.input(0).dtype));
  }
  return size;
}

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_COPY_KERNELS_H_
