// int8 MEAN, TFLite reduce.cc's QuantizedMeanOrSum: the parameters and the arithmetic
// are quantized/mean_int.h's (1/n folded into the multiplier at Prepare). Trailing
// axes (the last axis of a norm, keep_dims or not) take a contiguous fast path; other
// axes (gemma3n's mean over the AltUp streams, axis 0) the general reference loop,
// with the same arithmetic.
#include <algorithm>

#include "runtime/kernels/kernels.h"
#include "runtime/kernels/quantized/mean_int.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

class MeanInt8Kernel : public Kernel {
 public:
  explicit MeanInt8Kernel(quantized::MeanInt8Params p) : p_(std::move(p)) {}
  Status Eval(const EvalContext& ctx) override {
    const int8_t* in = In<int8_t>(ctx, 0);
    int8_t* out = Out<int8_t>(ctx, 0);
    const int64_t n = p_.reduced_count;
    if (n == 0) return Status::Ok();  // TFLite leaves the output untouched
    for (int64_t o = 0; o < p_.output_size; ++o) {
      int64_t sum = 0;
      for (int64_t k = 0; k < n; ++k) sum += in[o * n + k];
      const auto centered = static_cast<int32_t>(sum - int64_t{p_.input_zero_point} * n);
      const int32_t q = quantized::ApplyMultiplier(centered, p_.multiplier) + p_.output_zero_point;
      out[o] = static_cast<int8_t>(std::clamp(q, -128, 127));
    }
    return Status::Ok();
  }

 private:
  quantized::MeanInt8Params p_;
};

// Any set of axes: quantized::MeanInt8 (the reference loop over every element).
class MeanInt8AnyAxesKernel : public Kernel {
 public:
  explicit MeanInt8AnyAxesKernel(quantized::MeanInt8Params p) : p_(std::move(p)) {}
  Status Eval(const EvalContext& ctx) override {
    const auto in_size = static_cast<size_t>(p_.output_size * p_.reduced_count);
    quantized::MeanInt8(
        p_, std::span<const int8_t>(In<int8_t>(ctx, 0), in_size),
        std::span<int8_t>(Out<int8_t>(ctx, 0), static_cast<size_t>(p_.output_size)));
    return Status::Ok();
  }

 private:
  quantized::MeanInt8Params p_;
};

}  // namespace

PrepareResult PrepareMeanInteger(PrepareContext& ctx, const std::vector<bool>& reduced,
                                 const Shape& output_shape) {
  if (ctx.input(0).dtype != graph::DType::kInt8) {
    return ctx.Unsupported(std::string("MEAN of ") + graph::DTypeName(ctx.input(0).dtype) +
                           " (liteq has the int8 kernel)");
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, output_shape));
  // Trailing axes: the reduced elements of one output are contiguous (fast path).
  bool seen_reduced = false, trailing = true;
  std::vector<int32_t> axes;
  for (size_t d = 0; d < reduced.size(); ++d) {
    if (reduced[d]) {
      seen_reduced = true;
      axes.push_back(static_cast<int32_t>(d));
    } else if (seen_reduced) {
      trailing = false;
    }
  }
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams in_q, InputParams(ctx, 0));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
  Result<quantized::MeanInt8Params> p =
      quantized::PrepareMeanInt8(in_q, Dims64(ctx.input(0).shape), axes, out_q);
  if (!p.ok()) return WithOpLabel(ctx, p.status());
  if (!trailing) return PrepareResult(std::make_unique<MeanInt8AnyAxesKernel>(std::move(*p)));
  return PrepareResult(std::make_unique<MeanInt8Kernel>(std::move(*p)));
}

}  // namespace liteq::runtime
