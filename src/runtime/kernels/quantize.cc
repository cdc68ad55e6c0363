// QUANTIZE (TFLite quantize.cc): float32 -> int8/int16 (AffineQuantize:
// q = clamp(round(x / scale) + zp), round half away from zero, saturating also for
// +-inf and huge values, NaN -> zp), and int8/int16 -> int8/int16 requantization
// (q = clamp(R(x - zp_in, m, shift) + zp_out), R per quantized/quantize_int.h, m, shift from
// double(s_in) / double(s_out)). Output parameters are per tensor.
#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/quantized/quantize_fast.h"
#include "runtime/kernels/quantized/quantize_int.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

class QuantizeFloatKernel : public Kernel {
 public:
  QuantizeFloatKernel(graph::DType out, quant::QuantParams params, size_t count, bool fast)
      : out_(out), params_(params), count_(count), fast_(fast) {}
  Status Eval(const EvalContext& ctx) override {
    std::span<const float> in(In<float>(ctx, 0), count_);
    if (out_ == graph::DType::kInt8 && fast_) {
      // Elementwise, so split over the pool: a float KV cache is quantized whole every
      // step (36K elements per layer at max_seq 192).
      int8_t* out = Out<int8_t>(ctx, 0);
      ParallelElementwise(
          ctx.pool, static_cast<int64_t>(count_), kParallelMinElementsCheap,
          [&](int64_t begin, int64_t end) {
            const auto b = static_cast<size_t>(begin), e = static_cast<size_t>(end);
            quantized::FastQuantizeFloatToInt8(in.subspan(b, e - b), params_, {out + b, e - b});
          });
    } else if (out_ == graph::DType::kInt8) {
      quantized::QuantizeFloatToInt8(in, params_, {Out<int8_t>(ctx, 0), count_});
    } else {
      quantized::QuantizeFloatToInt16(in, params_, {Out<int16_t>(ctx, 0), count_});
    }
    return Status::Ok();
  }

 private:
  graph::DType out_;
  quant::QuantParams params_;
  size_t count_;
  bool fast_;  // SIMD float -> int8 (bit-exact; quantized/quantize_fast.h)
};

template <typename Src, typename Dst>
class RequantizeKernel : public Kernel {
 public:
  RequantizeKernel(quantized::RequantizeParams params, size_t count)
      : params_(params), count_(count) {}
  Status Eval(const EvalContext& ctx) override {
    quantized::Requantize(params_, std::span<const Src>(In<Src>(ctx, 0), count_),
                          std::span<Dst>(Out<Dst>(ctx, 0), count_));
    return Status::Ok();
  }

 private:
  quantized::RequantizeParams params_;
  size_t count_;
};

}  // namespace

PrepareResult PrepareQuantize(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(1, 1, 1));
  using graph::DType;
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(0, {DType::kFloat32, DType::kInt8, DType::kInt16}));
  const DType in_t = ctx.input(0).dtype, out_t = ctx.output(0).dtype;
  if (!IsQuantizedInt(out_t)) {
    return ctx.Unsupported(OutputLabel(ctx, 0) + " has dtype " + graph::DTypeName(out_t) +
                           ", QUANTIZE produces int8 or int16");
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, ctx.input(0).shape));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
  const auto count = static_cast<size_t>(NumElements(ctx.input(0).shape));
  if (in_t == DType::kFloat32) {
    return PrepareResult(
        std::make_unique<QuantizeFloatKernel>(out_t, out_q, count, !ctx.use_reference_kernels()));
  }
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams in_q, InputParams(ctx, 0));
  Result<quantized::RequantizeParams> p =
      quantized::PrepareRequantize(ToIntType(in_t), in_q, ToIntType(out_t), out_q);
  if (!p.ok()) return WithOpLabel(ctx, p.status());
  if (in_t == DType::kInt8 && out_t == DType::kInt8)
    return PrepareResult(std::make_unique<RequantizeKernel<int8_t, int8_t>>(*p, count));
  if (in_t == DType::kInt8)
    return PrepareResult(std::make_unique<RequantizeKernel<int8_t, int16_t>>(*p, count));
  if (out_t == DType::kInt8)
    return PrepareResult(std::make_unique<RequantizeKernel<int16_t, int8_t>>(*p, count));
  return PrepareResult(std::make_unique<RequantizeKernel<int16_t, int16_t>>(*p, count));
}

}  // namespace liteq::runtime
