// SOFTMAX over the last dimension on int8 (output scale 1/256, zero point -128) and
// int16 (output scale 1/32768, zero point 0) tensors, with beta. The arithmetic and
// the choice of TFLite code path are documented in quantized/softmax_int.h.
#include <algorithm>
#include <cmath>

#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/quantized/softmax_int.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

template <typename T, typename Params>
class SoftmaxIntKernel : public Kernel {
 public:
  SoftmaxIntKernel(std::unique_ptr<Params> params, int64_t rows, int64_t depth)
      : params_(std::move(params)), rows_(rows), depth_(depth) {}
  Status Eval(const EvalContext& ctx) override {
    const auto n = static_cast<size_t>(rows_ * depth_);
    std::span<const T> in(this->template In<T>(ctx, 0), n);
    std::span<T> out(this->template Out<T>(ctx, 0), n);
    // Rows are independent: split them over the pool (prefill's attention softmax is
    // [heads, T, S]); a decode step's few rows stay on this thread.
    const int64_t min_rows =
        std::max<int64_t>(1, kParallelMinElementsTranscendental / std::max<int64_t>(1, depth_));
    ParallelElementwise(ctx.pool, rows_, min_rows, [&](int64_t begin, int64_t end) {
      const auto b = static_cast<size_t>(begin * depth_), e = static_cast<size_t>(end * depth_);
      if constexpr (std::is_same_v<T, int8_t>) {
        quantized::SoftmaxInt8(*params_, end - begin, depth_, in.subspan(b, e - b),
                               out.subspan(b, e - b));
      } else {
        quantized::SoftmaxInt16(*params_, end - begin, depth_, in.subspan(b, e - b),
                                out.subspan(b, e - b));
      }
    });
    return Status::Ok();
  }

 private:
  std::unique_ptr<Params> params_;  // the tables are a few KB: keep them off the stack
  int64_t rows_, depth_;
};

}  // namespace

PrepareResult PrepareSoftmaxInteger(PrepareContext& ctx) {
  const graph::DType t = ctx.input(0).dtype;
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, t));
  const Shape& shape = ctx.input(0).shape;
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, shape));
  if (shape.empty()) return ctx.Error("input must have rank >= 1");
  float beta = 1.0f;
  if (const auto* o = std::get_if<graph::SoftmaxOptions>(&ctx.op().options)) beta = o->beta;
  if (!std::isfinite(beta)) return ctx.Error("beta must be finite");
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams in_q, InputParams(ctx, 0));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
  // TFLite softmax.cc Prepare: the output is fixed to 1/256, -128 (int8) or
  // 1/32768, 0 (int16), within 0.1% of the scale.
  const bool int8 = t == graph::DType::kInt8;
  const float want_scale = int8 ? 1.0f / 256 : 1.0f / 32768;
  const int32_t want_zp = int8 ? -128 : 0;
  if (out_q.zero_point != want_zp || std::abs(out_q.scale - want_scale) > 0.001f * want_scale) {
    return ctx.Error(OutputLabel(ctx, 0) + " has scale " + std::to_string(out_q.scale) +
                     " and zero point " + std::to_string(out_q.zero_point) + "; " +
                     graph::DTypeName(t) + " SOFTMAX outputs scale 1/" + (int8 ? "256" : "32768") +
                     " and zero point " + std::to_string(want_zp));
  }
  const int64_t depth = shape.back();
  const int64_t rows = depth == 0 ? 0 : NumElements(shape) / depth;
  if (t == graph::DType::kInt8) {
    Result<quantized::SoftmaxInt8Params> p = quantized::PrepareSoftmaxInt8(in_q, beta, out_q);
    if (!p.ok()) return WithOpLabel(ctx, p.status());
    return PrepareResult(std::make_unique<SoftmaxIntKernel<int8_t, quantized::SoftmaxInt8Params>>(
        std::make_unique<quantized::SoftmaxInt8Params>(*p), rows, depth));
  }
  Result<quantized::SoftmaxInt16Params> p = quantized::PrepareSoftmaxInt16(in_q, beta, out_q);
  if (!p.ok()) return WithOpLabel(ctx, p.status());
  return PrepareResult(std::make_unique<SoftmaxIntKernel<int16_t, quantized::SoftmaxInt16Params>>(
      std::make_unique<quantized::SoftmaxInt16Params>(*p), rows, depth));
}

}  // namespace liteq::runtime
