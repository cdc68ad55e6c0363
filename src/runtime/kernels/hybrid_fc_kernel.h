// The hybrid FULLY_CONNECTED kernel object (float input quantized per row, int8
// weights, float output), parameterised by the arithmetic: TFLite's reference
// (quantized/hybrid_fully_connected.h) or XNNPACK's (quantized/xnnpack_compat.h). The
// input rows are quantized into the op's scratch (depth bytes, requested at Prepare).
#ifndef LITEQ_RUNTIME_KERNELS_HYBRID_FC_KERNEL_H_
#define LITEQ_RUNTIME_KERNELS_HYBRID_FC_KERNEL_H_

#include <span>
#include <utility>

#include "runtime/kernels/kernel.h"
#include "runtime/kernels/quantized/fully_connected_int.h"

namespace liteq::runtime {

template <typename Params,
          void (*kFullyConnected)(const Params&, const quantized::FullyConnectedShape&,
                                  std::span<const float>, std::span<const int8_t>,
                                  std::span<const float>, std::span<float>, std::span<int8_t>)>
class HybridFcKernel : public Kernel {
 public:
  HybridFcKernel(Params params, quantized::FullyConnectedShape shape, bool has_bias)
      : params_(std::move(params)), shape_(shape), has_bias_(has_bias) {}

  Status Eval(const EvalContext& ctx) override {
    std::span<const float> bias;
    if (has_bias_) bias = {In<float>(ctx, 2), static_cast<size_t>(shape_.out_channels)};
    kFullyConnected(
        params_, shape_, {In<float>(ctx, 0), static_cast<size_t>(shape_.batches * shape_.depth)},
        {In<int8_t>(ctx, 1), static_cast<size_t>(shape_.out_channels * shape_.depth)}, bias,
        {Out<float>(ctx, 0), static_cast<size_t>(shape_.batches * shape_.out_channels)},
        {reinterpret_cast<int8_t*>(ctx.scratch), static_cast<size_t>(shape_.depth)});
    return Status::Ok();
  }

 private:
  Params params_;
  quantized::FullyConnectedShape shape_;
  bool has_bias_;
};

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_HYBRID_FC_KERNEL_H_
