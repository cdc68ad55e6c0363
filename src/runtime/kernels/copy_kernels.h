// Data-movement kernels that read a strided view of input 0 (TRANSPOSE, SLICE,
// STRIDED_SLICE with constant begin). They work on bytes, so any dtype (including the
// quantized ones to come) is supported.
#ifndef LITEQ_RUNTIME_KERNELS_COPY_KERNELS_H_
#define LITEQ_RUNTIME_KERNELS_COPY_KERNELS_H_

#include <utility>

#include "runtime/kernels/kernel.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {

class StridedCopyKernel : public Kernel {
 public:
  explicit StridedCopyKernel(StridedCopyPlan plan) : plan_(std::move(plan)) {}
  Status Eval(const EvalContext& ctx) override {
    StridedCopy(plan_, In<void>(ctx, 0), Out<void>(ctx, 0));
    return Status::Ok();
  }

 private:
  StridedCopyPlan plan_;
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
