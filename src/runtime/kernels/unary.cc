// Elementwise unary ops: NEG, ABS (float32/int32); EXP, SQRT, RSQRT, SQUARE, SIN, COS,
// TANH, LOGISTIC, GELU, RELU (float32). Quantized inputs go to unary_quantized.cc.
// Float ops other than SIN/COS run as SIMD (float_math_simd.h), split across the
// thread pool when large; the scalar Fn structs below stay as the reference kernels
// (InterpreterOptions::use_scalar_float_kernels) and as the tests' reference.
#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/float_math_simd.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

template <typename T, typename F>
class UnaryKernel : public Kernel {
 public:
  explicit UnaryKernel(int64_t count) : count_(count) {}
  Status Eval(const EvalContext& ctx) override {
    const T* in = In<T>(ctx, 0);
    T* out = Out<T>(ctx, 0);
    for (int64_t i = 0; i < count_; ++i) out[i] = F::Apply(in[i]);
    return Status::Ok();
  }

 private:
  int64_t count_;
};

class SimdUnaryKernel : public Kernel {
 public:
  SimdUnaryKernel(FloatUnaryOp op, int64_t count)
      : op_(op),
        count_(count),
        min_parallel_(op == FloatUnaryOp::kExp || op == FloatUnaryOp::kLogistic ||
                              op == FloatUnaryOp::kTanh || op == FloatUnaryOp::kGeluTanh ||
                              op == FloatUnaryOp::kGeluErf
                          ? kParallelMinElementsTranscendental
                          : kParallelMinElementsCheap) {}
  Status Eval(const EvalContext& ctx) override {
    const float* in = In<float>(ctx, 0);
    float* out = Out<float>(ctx, 0);
    ParallelElementwise(ctx.pool, count_, min_parallel_, [&](int64_t begin, int64_t end) {
      SimdFloatUnary(op_, in + begin, out + begin, static_cast<size_t>(end - begin));
    });
    return Status::Ok();
  }

 private:
  FloatUnaryOp op_;
  int64_t count_;
  int64_t min_parallel_;
};

struct NegFn {
  static float Apply(float x) { return -x; }
  static int32_t Apply(int32_t x) { return static_cast<int32_t>(0u - static_cast<uint32_t>(x)); }
};
struct AbsFn {
  static float Apply(float x) { return std::fabs(x); }
  static int32_t Apply(int32_t x) { return x < 0 ? NegFn::Apply(x) : x; }  // INT_MIN wraps
};
struct ExpFn {
  static float Apply(float x) { return std::exp(x); }
};
struct SqrtFn {
  static float Apply(float x) { return std::sqrt(x); }
};
struct RsqrtFn {
  static float Apply(float x) { return 1.0f / std::sqrt(x); }
};
struct SquareFn {
  static float Apply(float x) { return x * x; }
};
struct SinFn {
  static float Apply(float x) { return std::sin(x); }
};
struct CosFn {
  static float Apply(float x) { return std::cos(x); }
};
struct TanhFn {
  static float Apply(float x) { return std::tanh(x); }
};
struct LogisticFn {
  static float Apply(float x) { return 1.0f / (1.0f + std::exp(-x)); }
};
struct ReluFn {
  static float Apply(float x) { return x > 0.0f ? x : 0.0f; }
};
// GELU: exact form x/2 * (1 + erf(x / sqrt(2))); approximate (TFLite's `approximate`,
// PyTorch's gelu(approximate="tanh")) x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))).
struct GeluExactFn {
  static float Apply(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }
};
struct GeluTanhFn {
  static float Apply(float x) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
  }
};

// The SIMD form of a scalar Fn, if there is one.
template <typename F>
std::optional<FloatUnaryOp> SimdOpOf() {
  if constexpr (std::is_same_v<F, NegFn>) return FloatUnaryOp::kNeg;
  if constexpr (std::is_same_v<F, AbsFn>) return FloatUnaryOp::kAbs;
  if constexpr (std::is_same_v<F, ExpFn>) return FloatUnaryOp::kExp;
  if constexpr (std::is_same_v<F, SqrtFn>) return FloatUnaryOp::kSqrt;
  if constexpr (std::is_same_v<F, RsqrtFn>) return FloatUnaryOp::kRsqrt;
  if constexpr (std::is_same_v<F, SquareFn>) return FloatUnaryOp::kSquare;
  if constexpr (std::is_same_v<F, TanhFn>) return FloatUnaryOp::kTanh;
  if constexpr (std::is_same_v<F, LogisticFn>) return FloatUnaryOp::kLogistic;
  if constexpr (std::is_same_v<F, ReluFn>) return FloatUnaryOp::kRelu;
  if constexpr (std::is_same_v<F, GeluExactFn>) return FloatUnaryOp::kGeluErf;
  if constexpr (std::is_same_v<F, GeluTanhFn>) return FloatUnaryOp::kGeluTanh;
  return std::nullopt;
}

template <typename F>
PrepareResult FloatKernel(const PrepareContext& ctx, int64_t n) {
  if (const std::optional<FloatUnaryOp> op = SimdOpOf<F>();
      op.has_value() && !ctx.use_scalar_float_kernels()) {
    return PrepareResult(std::make_unique<SimdUnaryKernel>(*op, n));
  }
  return PrepareResult(std::make_unique<UnaryKernel<float, F>>(n));
}

template <typename F>
PrepareResult FloatOnly(const PrepareContext& ctx, int64_t n) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(0, {graph::DType::kFloat32}));
  return FloatKernel<F>(ctx, n);
}

template <typename F>
PrepareResult FloatOrInt(const PrepareContext& ctx, int64_t n) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(0, {graph::DType::kFloat32, graph::DType::kInt32}));
  if (ctx.input(0).dtype == graph::DType::kInt32) {
    return PrepareResult(std::make_unique<UnaryKernel<int32_t, F>>(n));
  }
  return FloatKernel<F>(ctx, n);
}

}  // namespace

PrepareResult PrepareUnary(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(1, 1, 1));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, ctx.input(0).dtype));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, ctx.input(0).shape));
  const graph::DType t = ctx.input(0).dtype;
  if (t == graph::DType::kInt8 || t == graph::DType::kInt16) return PrepareUnaryInteger(ctx);
  const int64_t n = NumElements(ctx.input(0).shape);
  using graph::OpCode;
  switch (ctx.op().code) {
    case OpCode::kNeg:
      return FloatOrInt<NegFn>(ctx, n);
    case OpCode::kAbs:
      return FloatOrInt<AbsFn>(ctx, n);
    case OpCode::kExp:
      return FloatOnly<ExpFn>(ctx, n);
    case OpCode::kSqrt:
      return FloatOnly<SqrtFn>(ctx, n);
    case OpCode::kRsqrt:
      return FloatOnly<RsqrtFn>(ctx, n);
    case OpCode::kSquare:
      return FloatOnly<SquareFn>(ctx, n);
    case OpCode::kSin:
      return FloatOnly<SinFn>(ctx, n);
    case OpCode::kCos:
      return FloatOnly<CosFn>(ctx, n);
    case OpCode::kTanh:
      return FloatOnly<TanhFn>(ctx, n);
    case OpCode::kLogistic:
      return FloatOnly<LogisticFn>(ctx, n);
    case OpCode::kRelu:
      return FloatOnly<ReluFn>(ctx, n);
    case OpCode::kGelu: {
      bool approximate = false;
      if (const auto* o = std::get_if<graph::GeluOptions>(&ctx.op().options)) {
        approximate = o->approximate;
      }
      return approximate ? FloatOnly<GeluTanhFn>(ctx, n) : FloatOnly<GeluExactFn>(ctx, n);
    }
    default:
      return ctx.Error("is not a unary op");
  }
}

}  // namespace liteq::runtime
