// int8 LOGISTIC, TANH and GELU through a 256-entry table built at Prepare from the
// float function (TFLite activations.cc / gelu.cc LUTPopulate; quantized/lut_int.h;
// LOGISTIC outputs scale 1/256 and zero point -128 as TFLite requires), and int8
// RSQRT through a table of TFLite's integer algorithm (quantized/rsqrt_int.h);
// int16 LOGISTIC and TANH as LiteRT computes them (quantized/logistic_tanh_int16.h:
// TFLite's interpolated sigmoid table, gemmlowp fixed point at power-of-two scales).
#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/quantized/logistic_tanh_int16.h"
#include "runtime/kernels/quantized/lut_int.h"
#include "runtime/kernels/quantized/rsqrt_int.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

// RSQRT: the table of quantized/rsqrt_int.h; an input below the zero point (a
// negative real value) is an error, as in TFLite.
class RsqrtInt8Kernel : public Kernel {
 public:
  RsqrtInt8Kernel(const quantized::RsqrtInt8Table& table, size_t count)
      : table_(table), count_(count) {}
  Status Eval(const EvalContext& ctx) override {
    const int8_t* in = In<int8_t>(ctx, 0);
    int8_t* out = Out<int8_t>(ctx, 0);
    for (size_t i = 0; i < count_; ++i) {
      if (in[i] < table_.input_zero_point) {
        return EvalError(StatusCode::kInvalidArgument,
                         "RSQRT of a negative value (q = " + std::to_string(in[i]) +
                             " below the zero point " + std::to_string(table_.input_zero_point) +
                             ") at element " + std::to_string(i));
      }
      out[i] = table_.values[static_cast<uint8_t>(in[i])];
    }
    return Status::Ok();
  }

 private:
  quantized::RsqrtInt8Table table_;
  size_t count_;
};

class Int8LutKernel : public Kernel {
 public:
  Int8LutKernel(const quantized::Int8Lut& lut, size_t count) : lut_(lut), count_(count) {}
  // A prefill's [T, D] activations split over the pool (a table lookup per element,
  // so the cheap-op threshold); a decode row runs on the calling thread.
  Status Eval(const EvalContext& ctx) override {
    const int8_t* in = In<int8_t>(ctx, 0);
    int8_t* out = Out<int8_t>(ctx, 0);
    ParallelElementwise(ctx.pool, static_cast<int64_t>(count_), kParallelMinElementsCheap,
                        [&](int64_t begin, int64_t end) {
                          const auto b = static_cast<size_t>(begin);
                          const auto n = static_cast<size_t>(end - begin);
                          quantized::ApplyInt8Lut(lut_, {in + b, n}, {out + b, n});
                        });
    return Status::Ok();
  }

 private:
  quantized::Int8Lut lut_;
  size_t count_;
};

class Int16SigmoidKernel : public Kernel {
 public:
  Int16SigmoidKernel(bool tanh, const quantized::Int16SigmoidParams& params, size_t count)
      : tanh_(tanh), params_(params), count_(count) {}
  Status Eval(const EvalContext& ctx) override {
    const std::span<const int16_t> in{In<int16_t>(ctx, 0), count_};
    const std::span<int16_t> out{Out<int16_t>(ctx, 0), count_};
    if (tanh_) {
      quantized::TanhInt16(params_, in, out);
    } else {
      quantized::LogisticInt16(params_, in, out);
    }
    return Status::Ok();
  }

 private:
  bool tanh_;
  quantized::Int16SigmoidParams params_;
  size_t count_;
};

PrepareResult PrepareInt16Sigmoid(PrepareContext& ctx, bool tanh) {
  if (ctx.output(0).dtype != graph::DType::kInt16) {
    return ctx.Unsupported("int16 input with a non-int16 output");
  }
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams in_q, InputParams(ctx, 0));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
  Result<quantized::Int16SigmoidParams> params = tanh
                                                     ? quantized::PrepareTanhInt16(in_q, out_q)
                                                     : quantized::PrepareLogisticInt16(in_q, out_q);
  if (!params.ok()) return WithOpLabel(ctx, params.status());
  const auto count = static_cast<size_t>(NumElements(ctx.input(0).shape));
  return PrepareResult(std::make_unique<Int16SigmoidKernel>(tanh, *params, count));
}

}  // namespace

namespace {

// The table function of an int8/int16 LOGISTIC, TANH, RSQRT or GELU op.
Result<quantized::LutFunction> LutFunctionOf(PrepareContext& ctx) {
  using graph::OpCode;
  switch (ctx.op().code) {
    case OpCode::kLogistic:
      return quantized::LutFunction::kLogistic;
    case OpCode::kTanh:
      return quantized::LutFunction::kTanh;
    case OpCode::kRsqrt:
      return quantized::LutFunction::kRsqrt;
    case OpCode::kGelu: {
      bool approximate = false;
      if (const auto* o = std::get_if<graph::GeluOptions>(&ctx.op().options)) {
        approximate = o->approximate;
      }
      return approximate ? quantized::LutFunction::kGeluApproximate : quantized::LutFunction::kGelu;
    }
    default:
      return ctx.Unsupported(std::string("no ") + graph::DTypeName(ctx.input(0).dtype) +
                             " kernel for this op");
  }
}

Result<quantized::Int8Lut> PrepareInt8Lut(PrepareContext& ctx, quantized::LutFunction function) {
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams in_q, InputParams(ctx, 0));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
  Result<quantized::Int8Lut> lut = quantized::PrepareInt8Lut(function, in_q, out_q);
  if (!lut.ok()) return WithOpLabel(ctx, lut.status());
  return *lut;
}

}  // namespace

Result<quantized::Int8Lut> PrepareInt8LutOfOp(PrepareContext& ctx) {
  LITEQ_ASSIGN_OR_RETURN(quantized::LutFunction function, LutFunctionOf(ctx));
  if (ctx.input(0).dtype != graph::DType::kInt8 || function == quantized::LutFunction::kRsqrt) {
    return ctx.Unsupported("not an int8 table op");
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, graph::DType::kInt8));
  return PrepareInt8Lut(ctx, function);
}

std::unique_ptr<Kernel> MakeInt8LutKernel(const quantized::Int8Lut& lut, size_t count) {
  return std::make_unique<Int8LutKernel>(lut, count);
}

PrepareResult PrepareUnaryInteger(PrepareContext& ctx) {
  const graph::DType t = ctx.input(0).dtype;
  LITEQ_ASSIGN_OR_RETURN(quantized::LutFunction function, LutFunctionOf(ctx));
  if (t == graph::DType::kInt16 && (function == quantized::LutFunction::kLogistic ||
                                    function == quantized::LutFunction::kTanh)) {
    return PrepareInt16Sigmoid(ctx, function == quantized::LutFunction::kTanh);
  }
  if (t != graph::DType::kInt8) {
    return ctx.Unsupported(std::string("no ") + graph::DTypeName(t) +
                           " kernel for this op (liteq has the int8 one)");
  }
  const auto count = static_cast<size_t>(NumElements(ctx.input(0).shape));
  if (function == quantized::LutFunction::kRsqrt) {
    LITEQ_ASSIGN_OR_RETURN(quant::QuantParams in_q, InputParams(ctx, 0));
    LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
    Result<quantized::RsqrtInt8Table> table = quantized::PrepareRsqrtInt8(in_q, out_q);
    if (!table.ok()) return WithOpLabel(ctx, table.status());
    return PrepareResult(std::make_unique<RsqrtInt8Kernel>(*table, count));
  }
  LITEQ_ASSIGN_OR_RETURN(quantized::Int8Lut lut, PrepareInt8Lut(ctx, function));
  return PrepareResult(std::make_unique<Int8LutKernel>(lut, count));
}

}  // namespace liteq::runtime
