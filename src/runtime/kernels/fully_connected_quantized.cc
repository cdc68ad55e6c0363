// FULLY_CONNECTED with quantized weights (QUANT_SPEC.md "Per-op requirements" and
// "Hybrid"): int8 x int8 -> int8 (int32 bias), int16 x int8 -> int16 (int64 bias)
// and the hybrid float x int8 -> float kernel. The arithmetic is the reference
// kernels' (runtime/kernels/quantized); this file validates the tensors, fixes the
// multipliers at Prepare and flattens the input like the float kernel. With constant
// weights the int8 and hybrid forms run the fast kernels (fully_connected_int8_fast.h,
// bit-exact with the references) unless InterpreterOptions::use_reference_kernels.
#include "runtime/kernels/fully_connected_int8_fast.h"
#include "runtime/kernels/fully_connected_shape.h"
#include "runtime/kernels/hybrid_fc_kernel.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/quantized/fully_connected_int.h"
#include "runtime/kernels/quantized/hybrid_fully_connected.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

using graph::DType;

template <typename T, typename Bias>
class FullyConnectedIntKernel : public Kernel {
 public:
  FullyConnectedIntKernel(quantized::FullyConnectedIntParams params,
                          quantized::FullyConnectedShape shape, bool has_bias)
      : params_(std::move(params)), shape_(shape), has_bias_(has_bias) {}

  Status Eval(const EvalContext& ctx) override {
    const auto in_n = static_cast<size_t>(shape_.batches * shape_.depth);
    const auto w_n = static_cast<size_t>(shape_.out_channels * shape_.depth);
    const auto out_n = static_cast<size_t>(shape_.batches * shape_.out_channels);
    std::span<const Bias> bias;
    if (has_bias_)
      bias = {this->template In<Bias>(ctx, 2), static_cast<size_t>(shape_.out_channels)};
    std::span<const T> in(this->template In<T>(ctx, 0), in_n);
    std::span<const int8_t> w(this->template In<int8_t>(ctx, 1), w_n);
    std::span<T> out(this->template Out<T>(ctx, 0), out_n);
    if constexpr (std::is_same_v<T, int8_t>) {
      quantized::FullyConnectedInt8(params_, shape_, in, w, bias, out);
    } else {
      quantized::FullyConnected16x8(params_, shape_, in, w, bias, out);
    }
    return Status::Ok();
  }

 private:
  quantized::FullyConnectedIntParams params_;
  quantized::FullyConnectedShape shape_;
  bool has_bias_;
};

using HybridFullyConnectedKernel =
    HybridFcKernel<quantized::HybridFullyConnectedParams, quantized::HybridFullyConnected>;

}  // namespace

PrepareResult PrepareFullyConnectedInteger(PrepareContext& ctx,
                                           const graph::FullyConnectedOptions& opts) {
  const DType t = ctx.input(0).dtype;
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(1, {DType::kInt8}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, t));
  LITEQ_ASSIGN_OR_RETURN(quantized::FullyConnectedShape shape,
                         PrepareFullyConnectedShape(ctx, opts.keep_num_dims));
  const bool has_bias = ctx.has_input(2);
  if (has_bias) {
    // TFLite: int32 bias for int8 activations, int64 for 16x8 (QUANT_SPEC "Bias").
    LITEQ_RETURN_IF_ERROR(
        ctx.CheckInputDType(2, {t == DType::kInt8 ? DType::kInt32 : DType::kInt64}));
  }
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams in_q, InputParams(ctx, 0));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
  LITEQ_ASSIGN_OR_RETURN(std::span<const float> w_scales,
                         SymmetricWeightScales(ctx, 1, shape.out_channels, 0));
  LITEQ_ASSIGN_OR_RETURN(quantized::FusedActivation act, ToFusedActivation(ctx, opts.activation));
  Result<quantized::FullyConnectedIntParams> params =
      t == DType::kInt8 ? quantized::PrepareFullyConnectedInt8(in_q, w_scales, out_q, act)
                        : quantized::PrepareFullyConnected16x8(in_q, w_scales, out_q, act);
  if (!params.ok()) return WithOpLabel(ctx, params.status());
  if (t == DType::kInt8) {
    // Constant weights (and bias): the fast kernel folds the input zero point into
    // the bias once here; otherwise, or when asked to, the scalar reference runs.
    const uint8_t* weights = ctx.constant(1);
    const uint8_t* bias = has_bias ? ctx.constant(2) : nullptr;
    if (!ctx.use_reference_kernels() && weights != nullptr && (!has_bias || bias != nullptr)) {
      const auto rows = static_cast<size_t>(shape.out_channels);
      std::span<const int32_t> bias_values;
      if (has_bias) bias_values = {reinterpret_cast<const int32_t*>(bias), rows};
      // The weights are packed and the bias folded: neither is read in place.
      ctx.ConstantCopied(1);
      if (has_bias) ctx.ConstantCopied(2);
      return PrepareResult(MakeFastFullyConnectedInt8(
          ctx, *params, shape,
          {reinterpret_cast<const int8_t*>(weights), rows * static_cast<size_t>(shape.depth)},
          bias_values));
    }
    return PrepareResult(std::make_unique<FullyConnectedIntKernel<int8_t, int32_t>>(
        std::move(*params), shape, has_bias));
  }
  return PrepareResult(std::make_unique<FullyConnectedIntKernel<int16_t, int64_t>>(
      std::move(*params), shape, has_bias));
}

PrepareResult PrepareFullyConnectedHybrid(PrepareContext& ctx,
                                          const graph::FullyConnectedOptions& opts) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, DType::kFloat32));
  LITEQ_ASSIGN_OR_RETURN(quantized::FullyConnectedShape shape,
                         PrepareFullyConnectedShape(ctx, opts.keep_num_dims));
  const bool has_bias = ctx.has_input(2);
  if (has_bias) LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(2, {DType::kFloat32}));
  LITEQ_ASSIGN_OR_RETURN(std::span<const float> w_scales,
                         SymmetricWeightScales(ctx, 1, shape.out_channels, 0));
  LITEQ_ASSIGN_OR_RETURN(quantized::FusedActivation act, ToFusedActivation(ctx, opts.activation));
  Result<quantized::HybridFullyConnectedParams> params =
      quantized::PrepareHybridFullyConnected(w_scales, opts.asymmetric_quantize_inputs, act);
  if (!params.ok()) return WithOpLabel(ctx, params.status());
  if (const uint8_t* weights = ctx.constant(1);
      !ctx.use_reference_kernels() && weights != nullptr) {
    ctx.ConstantCopied(1);  // packed; the float bias is read in place
    return PrepareResult(
        MakeFastHybridFullyConnected(ctx, std::move(*params), shape,
                                     {reinterpret_cast<const int8_t*>(weights),
                                      static_cast<size_t>(shape.out_channels * shape.depth)},
                                     has_bias));
  }
  ctx.RequestScratch(static_cast<size_t>(shape.depth));
  return PrepareResult(
      std::make_unique<HybridFullyConnectedKernel>(std::move(*params), shape, has_bias));
}

}  // namespace liteq::runtime
