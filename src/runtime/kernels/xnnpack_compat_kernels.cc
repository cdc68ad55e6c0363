#include "runtime/kernels/xnnpack_compat_kernels.h"

#include "runtime/kernels/fully_connected_shape.h"
#include "runtime/kernels/hybrid_fc_kernel.h"
#include "runtime/kernels/quantized/xnnpack_compat.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

namespace xnn = quantized::xnnpack;
using graph::DType;
using graph::OpCode;

class QuantizeKernel : public Kernel {
 public:
  QuantizeKernel(quant::QuantParams params, size_t count) : params_(params), count_(count) {}
  Status Eval(const EvalContext& ctx) override {
    xnn::QuantizeFloatToInt8({In<float>(ctx, 0), count_}, params_, {Out<int8_t>(ctx, 0), count_});
    return Status::Ok();
  }

 private:
  quant::QuantParams params_;
  size_t count_;
};

class RequantizeKernel : public Kernel {
 public:
  RequantizeKernel(xnn::RequantizeParams params, size_t count) : params_(params), count_(count) {}
  Status Eval(const EvalContext& ctx) override {
    xnn::Requantize(params_, {In<int8_t>(ctx, 0), count_}, {Out<int8_t>(ctx, 0), count_});
    return Status::Ok();
  }

 private:
  xnn::RequantizeParams params_;
  size_t count_;
};

class FullyConnectedKernel : public Kernel {
 public:
  FullyConnectedKernel(xnn::FullyConnectedParams params, quantized::FullyConnectedShape shape,
                       bool has_bias)
      : params_(std::move(params)), shape_(shape), has_bias_(has_bias) {}
  Status Eval(const EvalContext& ctx) override {
    std::span<const int32_t> bias;
    if (has_bias_) bias = {In<int32_t>(ctx, 2), static_cast<size_t>(shape_.out_channels)};
    xnn::FullyConnected(
        params_, shape_, {In<int8_t>(ctx, 0), static_cast<size_t>(shape_.batches * shape_.depth)},
        {In<int8_t>(ctx, 1), static_cast<size_t>(shape_.out_channels * shape_.depth)}, bias,
        {Out<int8_t>(ctx, 0), static_cast<size_t>(shape_.batches * shape_.out_channels)});
    return Status::Ok();
  }

 private:
  xnn::FullyConnectedParams params_;
  quantized::FullyConnectedShape shape_;
  bool has_bias_;
};

class BatchMatMulKernel : public Kernel {
 public:
  explicit BatchMatMulKernel(xnn::BatchMatMulParams params) : params_(std::move(params)) {}
  Status Eval(const EvalContext& ctx) override {
    const quantized::BatchMatMulInt8Params& p = params_.layout;
    xnn::BatchMatMul(
        params_,
        {In<int8_t>(ctx, 0), static_cast<size_t>(p.batches.input1_size * p.rows * p.depth)},
        {In<int8_t>(ctx, 1), static_cast<size_t>(p.batches.input2_size * p.depth * p.cols)},
        {Out<int8_t>(ctx, 0), static_cast<size_t>(p.batches.output_size * p.rows * p.cols)});
    return Status::Ok();
  }

 private:
  xnn::BatchMatMulParams params_;
};

using HybridKernel = HybridFcKernel<xnn::HybridParams, xnn::HybridFullyConnected>;

// Parameters XNNPACK refuses (Unimplemented) leave the op to TFLite's kernel in
// LiteRT: no XNNPACK kernel here either. Other errors cannot happen after the regular
// Prepare accepted the op; they are reported.
template <typename T>
Result<std::unique_ptr<Kernel>> Declined(const Result<T>& r, const PrepareContext& ctx) {
  if (r.status().code() == StatusCode::kUnimplemented) return std::unique_ptr<Kernel>();
  return WithOpLabel(ctx, r.status());
}

Result<std::unique_ptr<Kernel>> PrepareQuantizeOp(PrepareContext& ctx) {
  if (ctx.output(0).dtype != DType::kInt8) return std::unique_ptr<Kernel>();
  const auto count = static_cast<size_t>(NumElements(ctx.input(0).shape));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
  if (ctx.input(0).dtype == DType::kFloat32) {
    return std::unique_ptr<Kernel>(std::make_unique<QuantizeKernel>(out_q, count));
  }
  if (ctx.input(0).dtype != DType::kInt8) return std::unique_ptr<Kernel>();
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams in_q, InputParams(ctx, 0));
  Result<xnn::RequantizeParams> p = xnn::PrepareRequantize(in_q, out_q);
  if (!p.ok()) return Declined(p, ctx);
  return std::unique_ptr<Kernel>(std::make_unique<RequantizeKernel>(*p, count));
}

Result<std::unique_ptr<Kernel>> PrepareBinaryOp(PrepareContext& ctx) {
  if (ctx.input(0).dtype != DType::kInt8) return std::unique_ptr<Kernel>();
  graph::Activation act = graph::Activation::kNone;
  if (const auto* opts = std::get_if<graph::BinaryOptions>(&ctx.op().options)) {
    act = opts->activation;
  }
  LITEQ_ASSIGN_OR_RETURN(quantized::FusedActivation fused, ToFusedActivation(ctx, act));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams a_q, InputParams(ctx, 0));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams b_q, InputParams(ctx, 1));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
  const quantized::ActivationRange range =
      quantized::QuantizedActivationRange(fused, out_q, -128, 127);
  Result<quantized::BroadcastPlan> plan =
      quantized::MakeBroadcastPlan(Dims64(ctx.input(0).shape), Dims64(ctx.input(1).shape));
  if (!plan.ok()) return WithOpLabel(ctx, plan.status());
  if (ctx.op().code == OpCode::kMul) {
    Result<xnn::MulParams> p = xnn::PrepareMul(a_q, b_q, out_q, range);
    if (!p.ok()) return Declined(p, ctx);
    return std::unique_ptr<Kernel>(
        std::make_unique<BroadcastBinaryIntKernel<int8_t, xnn::MulParams, &xnn::Mul>>(
            *p, std::move(*plan)));
  }
  Result<xnn::AddParams> p = xnn::PrepareAdd(a_q, b_q, out_q, range, ctx.op().code == OpCode::kSub);
  if (!p.ok()) return Declined(p, ctx);
  return std::unique_ptr<Kernel>(
      std::make_unique<BroadcastBinaryIntKernel<int8_t, xnn::AddParams, &xnn::Add>>(
          *p, std::move(*plan)));
}

Result<std::unique_ptr<Kernel>> PrepareFullyConnectedOp(PrepareContext& ctx) {
  graph::FullyConnectedOptions opts;
  if (const auto* o = std::get_if<graph::FullyConnectedOptions>(&ctx.op().options)) opts = *o;
  const DType in_t = ctx.input(0).dtype;
  // XNNPACK packs constant weights (and bias) at delegate time; others stay in TFLite.
  if (ctx.input(1).dtype != DType::kInt8 || ctx.constant(1) == nullptr ||
      (ctx.has_input(2) && ctx.constant(2) == nullptr) ||
      (in_t != DType::kInt8 && in_t != DType::kFloat32)) {
    return std::unique_ptr<Kernel>();
  }
  LITEQ_ASSIGN_OR_RETURN(quantized::FullyConnectedShape shape,
                         PrepareFullyConnectedShape(ctx, opts.keep_num_dims));
  LITEQ_ASSIGN_OR_RETURN(std::span<const float> w_scales,
                         SymmetricWeightScales(ctx, 1, shape.out_channels, 0));
  LITEQ_ASSIGN_OR_RETURN(quantized::FusedActivation act, ToFusedActivation(ctx, opts.activation));
  const bool has_bias = ctx.has_input(2);
  if (in_t == DType::kFloat32) {
    xnn::HybridParams p;
    for (int64_t c = 0; c < shape.out_channels; ++c) {
      p.weight_scales.push_back(w_scales[w_scales.size() == 1 ? 0 : static_cast<size_t>(c)]);
    }
    quantized::FloatActivationRange(act, &p.activation_min, &p.activation_max);
    ctx.RequestScratch(static_cast<size_t>(shape.depth));
    return std::unique_ptr<Kernel>(std::make_unique<HybridKernel>(std::move(p), shape, has_bias));
  }
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams in_q, InputParams(ctx, 0));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
  Result<xnn::FullyConnectedParams> p =
      xnn::PrepareFullyConnected(in_q, w_scales, shape.out_channels, out_q,
                                 quantized::QuantizedActivationRange(act, out_q, -128, 127));
  if (!p.ok()) return Declined(p, ctx);
  return std::unique_ptr<Kernel>(
      std::make_unique<FullyConnectedKernel>(std::move(*p), shape, has_bias));
}

Result<std::unique_ptr<Kernel>> PrepareBatchMatMulOp(PrepareContext& ctx) {
  if (ctx.input(0).dtype != DType::kInt8) return std::unique_ptr<Kernel>();
  graph::BatchMatMulOptions opts;
  if (const auto* o = std::get_if<graph::BatchMatMulOptions>(&ctx.op().options)) opts = *o;
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams lhs_q, InputParams(ctx, 0));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams rhs_q, InputParams(ctx, 1));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
  Result<quantized::BatchMatMulInt8Params> layout =
      quantized::PrepareBatchMatMulInt8(lhs_q, Dims64(ctx.input(0).shape), rhs_q,
                                        Dims64(ctx.input(1).shape), out_q, opts.adj_x, opts.adj_y);
  if (!layout.ok()) return WithOpLabel(ctx, layout.status());
  Result<xnn::BatchMatMulParams> p =
      xnn::PrepareBatchMatMul(std::move(*layout), lhs_q, rhs_q, out_q, ctx.constant(1) != nullptr);
  if (!p.ok()) return Declined(p, ctx);
  return std::unique_ptr<Kernel>(std::make_unique<BatchMatMulKernel>(std::move(*p)));
}

}  // namespace

Result<std::unique_ptr<Kernel>> PrepareXnnpackInt8Kernel(PrepareContext& ctx) {
  switch (ctx.op().code) {
    case OpCode::kQuantize:
      return PrepareQuantizeOp(ctx);
    case OpCode::kAdd:
    case OpCode::kSub:
    case OpCode::kMul:
      return PrepareBinaryOp(ctx);
    case OpCode::kFullyConnected:
      return PrepareFullyConnectedOp(ctx);
    case OpCode::kBatchMatmul:
      return PrepareBatchMatMulOp(ctx);
    default:
      return std::unique_ptr<Kernel>();
  }
}

}  // namespace liteq::runtime
