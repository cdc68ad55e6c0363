// ADD, SUB and MUL on int8 / int16 tensors with broadcasting (TFLite add.cc, sub.cc,
// mul.cc; the arithmetic is runtime/kernels/quantized/elementwise_int). int16 ADD/SUB
// use TFLite's general-scale path (pot_scale_int16 = false, which liteq's writer sets).
// int8 runs the vectorized rows (bit-exact) unless InterpreterOptions::use_reference_kernels.
#include <algorithm>

#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/quantized/broadcast_rows.h"
#include "runtime/kernels/quantized/elementwise_int.h"
#include "runtime/kernels/quantized/requantize_rows.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

// int8 in rows on the vectorized row functions (quantized/requantize_rows.h, the same
// integers as the reference).
template <bool kMul>
class FastArithmeticInt8Kernel : public Kernel {
 public:
  using Params = std::conditional_t<kMul, quantized::MulParams, quantized::AddSubParams>;
  // rows: MakeBroadcastRows of the op's broadcast.
  FastArithmeticInt8Kernel(Params params, const quantized::BroadcastRows& rows)
      : params_(params), rows_(rows) {}

  Status Eval(const EvalContext& ctx) override {
    const int8_t* a = In<int8_t>(ctx, 0);
    const int8_t* b = In<int8_t>(ctx, 1);
    int8_t* out = Out<int8_t>(ctx, 0);
    // Elementwise: the output elements split over the pool (a prefill's [T, D] ADD /
    // MUL), each range walked as the parts of the broadcast rows it covers.
    const auto length = static_cast<int64_t>(rows_.row_length);
    const auto total = static_cast<int64_t>(rows_.count) * length;
    ParallelElementwise(
        ctx.pool, total, kParallelMinElementsCheap, [&](int64_t begin, int64_t end) {
          quantized::BroadcastRowCursor cursor(rows_, static_cast<size_t>(begin / length));
          for (int64_t r = begin / length; r * length < end; ++r, cursor.Next()) {
            const int64_t lo = std::max(begin, r * length) - r * length;
            const int64_t hi = std::min(end, (r + 1) * length) - r * length;
            row_(params_, a + cursor.offset1() + lo * static_cast<int64_t>(rows_.step1),
                 rows_.step1, b + cursor.offset2() + lo * static_cast<int64_t>(rows_.step2),
                 rows_.step2, out + r * length + lo, static_cast<size_t>(hi - lo));
          }
        });
    return Status::Ok();
  }

 private:
  Params params_;
  quantized::BroadcastRows rows_;
  static auto BestRow() {
    if constexpr (kMul) {
      return quantized::BestMulInt8Row();
    } else {
      return quantized::BestAddSubInt8Row();
    }
  }
  decltype(BestRow()) row_ = BestRow();
};

template <bool kMul, typename Params>
PrepareResult MakeKernel(graph::DType t, Params params, quantized::BroadcastPlan plan,
                         bool use_reference_kernels) {
  // A broadcast of more outer dimensions than BroadcastRows holds runs elementwise.
  quantized::BroadcastRows rows;
  if (t == graph::DType::kInt8 && !use_reference_kernels &&
      quantized::MakeBroadcastRows(plan, &rows)) {
    return PrepareResult(std::make_unique<FastArithmeticInt8Kernel<kMul>>(params, rows));
  }
  if constexpr (kMul) {
    if (t == graph::DType::kInt8) {
      return PrepareResult(
          std::make_unique<BroadcastBinaryIntKernel<int8_t, Params, &quantized::MulInt8>>(
              params, std::move(plan)));
    }
    return PrepareResult(
        std::make_unique<BroadcastBinaryIntKernel<int16_t, Params, &quantized::MulInt16>>(
            params, std::move(plan)));
  } else {
    if (t == graph::DType::kInt8) {
      return PrepareResult(
          std::make_unique<BroadcastBinaryIntKernel<int8_t, Params, &quantized::AddSubInt8>>(
              params, std::move(plan)));
    }
    return PrepareResult(
        std::make_unique<BroadcastBinaryIntKernel<int16_t, Params, &quantized::AddSubInt16>>(
            params, std::move(plan)));
  }
}

}  // namespace

namespace {

// What every integer ADD/SUB/MUL kernel is made from: the operands' and output's
// parameters, the fused activation and the broadcast, checked against the op.
struct ArithmeticOperands {
  graph::DType dtype;
  quant::QuantParams a, b, out;
  quantized::FusedActivation activation;
  quantized::BroadcastPlan plan;
};

Result<ArithmeticOperands> PrepareArithmeticOperands(PrepareContext& ctx) {
  ArithmeticOperands o;
  o.dtype = ctx.input(0).dtype;
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(1, {o.dtype}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, o.dtype));
  graph::Activation act = graph::Activation::kNone;
  if (const auto* opts = std::get_if<graph::BinaryOptions>(&ctx.op().options)) {
    act = opts->activation;
  }
  LITEQ_ASSIGN_OR_RETURN(o.activation, ToFusedActivation(ctx, act));
  LITEQ_ASSIGN_OR_RETURN(o.a, InputParams(ctx, 0));
  LITEQ_ASSIGN_OR_RETURN(o.b, InputParams(ctx, 1));
  LITEQ_ASSIGN_OR_RETURN(o.out, OutputParams(ctx, 0));
  Result<quantized::BroadcastPlan> plan =
      quantized::MakeBroadcastPlan(Dims64(ctx.input(0).shape), Dims64(ctx.input(1).shape));
  if (!plan.ok()) return WithOpLabel(ctx, plan.status());
  LITEQ_RETURN_IF_ERROR(
      ctx.CheckOutputShape(0, Shape(plan->output_shape.begin(), plan->output_shape.end())));
  o.plan = std::move(*plan);
  return o;
}

}  // namespace

Result<quantized::MulParams> PrepareIntegerMulParams(PrepareContext& ctx) {
  if (ctx.op().code != graph::OpCode::kMul) return ctx.Unsupported("not a MUL");
  LITEQ_ASSIGN_OR_RETURN(ArithmeticOperands o, PrepareArithmeticOperands(ctx));
  Result<quantized::MulParams> p =
      quantized::PrepareMul(ToIntType(o.dtype), o.a, o.b, o.out, o.activation);
  if (!p.ok()) return WithOpLabel(ctx, p.status());
  return *p;
}

Result<quantized::AddSubParams> PrepareIntegerAddSubParams(PrepareContext& ctx) {
  const graph::OpCode code = ctx.op().code;
  if (code != graph::OpCode::kAdd && code != graph::OpCode::kSub) {
    return ctx.Unsupported("not an ADD or SUB");
  }
  LITEQ_ASSIGN_OR_RETURN(ArithmeticOperands o, PrepareArithmeticOperands(ctx));
  Result<quantized::AddSubParams> p = quantized::PrepareAddSub(
      ToIntType(o.dtype), o.a, o.b, o.out, o.activation, code == graph::OpCode::kSub);
  if (!p.ok()) return WithOpLabel(ctx, p.status());
  return *p;
}

PrepareResult PrepareArithmeticInteger(PrepareContext& ctx) {
  const graph::DType t = ctx.input(0).dtype;
  const graph::OpCode code = ctx.op().code;
  if (code != graph::OpCode::kAdd && code != graph::OpCode::kSub && code != graph::OpCode::kMul) {
    return ctx.Unsupported(std::string("no ") + graph::DTypeName(t) + " kernel for this op");
  }
  LITEQ_ASSIGN_OR_RETURN(ArithmeticOperands o, PrepareArithmeticOperands(ctx));
  if (code == graph::OpCode::kMul) {
    Result<quantized::MulParams> p =
        quantized::PrepareMul(ToIntType(t), o.a, o.b, o.out, o.activation);
    if (!p.ok()) return WithOpLabel(ctx, p.status());
    return MakeKernel<true>(t, *p, std::move(o.plan), ctx.use_reference_kernels());
  }
  Result<quantized::AddSubParams> p = quantized::PrepareAddSub(
      ToIntType(t), o.a, o.b, o.out, o.activation, code == graph::OpCode::kSub);
  if (!p.ok()) return WithOpLabel(ctx, p.status());
  return MakeKernel<false>(t, *p, std::move(o.plan), ctx.use_reference_kernels());
}

}  // namespace liteq::runtime
