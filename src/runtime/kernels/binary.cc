// ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, POW with numpy broadcasting.
// Integer arithmetic wraps (two's complement) instead of overflowing, so no input can
// trigger undefined behaviour; integer DIV by zero and POW to a negative power are
// errors at Eval, as in TFLite.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "runtime/kernels/broadcast_kernel.h"
#include "runtime/kernels/kernels.h"

namespace liteq::runtime {

Result<BroadcastPlan> PrepareBroadcast(const PrepareContext& ctx, size_t n) {
  std::vector<Shape> shapes;
  bool all_same = true;
  for (size_t i = 0; i < n; ++i) {
    shapes.push_back(ctx.input(i).shape);
    all_same = all_same && shapes[i] == shapes[0];
  }
  Result<Shape> out = BroadcastShapes(shapes);
  if (!out.ok()) return ctx.Error(out.status().message());
  if (!all_same && static_cast<int>(out->size()) > kMaxBroadcastRank) {
    return ctx.Unsupported("broadcasting at rank " + std::to_string(out->size()) +
                           " (TFLite supports up to " + std::to_string(kMaxBroadcastRank) + ")");
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, *out));
  return MakeBroadcastPlan(*out, shapes);
}

namespace {

using U32 = uint32_t;
inline int32_t Wrap(U32 v) { return static_cast<int32_t>(v); }  // modular since C++20

struct NoCheck {
  static constexpr bool kChecksRhs = false;
};
struct AddFn : NoCheck {
  static constexpr FloatBinaryOp kSimdOp = FloatBinaryOp::kAdd;
  static float Apply(float a, float b) { return a + b; }
  static int32_t Apply(int32_t a, int32_t b) { return Wrap(U32(a) + U32(b)); }
};
struct SubFn : NoCheck {
  static constexpr FloatBinaryOp kSimdOp = FloatBinaryOp::kSub;
  static float Apply(float a, float b) { return a - b; }
  static int32_t Apply(int32_t a, int32_t b) { return Wrap(U32(a) - U32(b)); }
};
struct MulFn : NoCheck {
  static constexpr FloatBinaryOp kSimdOp = FloatBinaryOp::kMul;
  static float Apply(float a, float b) { return a * b; }
  static int32_t Apply(int32_t a, int32_t b) { return Wrap(U32(a) * U32(b)); }
};
struct DivFn {
  static constexpr bool kChecksRhs = true;
  static constexpr FloatBinaryOp kSimdOp = FloatBinaryOp::kDiv;
  static const char* CheckRhs(float) { return nullptr; }  // float: IEEE inf/nan
  static const char* CheckRhs(int32_t b) { return b == 0 ? "integer division by zero" : nullptr; }
  static float Apply(float a, float b) { return a / b; }
  static int32_t Apply(int32_t a, int32_t b) {
    if (b == -1) return Wrap(U32(0) - U32(a));  // INT_MIN / -1 wraps
    return a / b;                               // C++ truncation, as TFLite's reference
  }
};
struct MaximumFn : NoCheck {
  static constexpr FloatBinaryOp kSimdOp = FloatBinaryOp::kMaximum;
  template <typename T>
  static T Apply(T a, T b) {
    return a > b ? a : b;
  }
};
struct MinimumFn : NoCheck {
  static constexpr FloatBinaryOp kSimdOp = FloatBinaryOp::kMinimum;
  template <typename T>
  static T Apply(T a, T b) {
    return a < b ? a : b;
  }
};
struct SquaredDifferenceFn : NoCheck {
  static constexpr FloatBinaryOp kSimdOp = FloatBinaryOp::kSquaredDifference;
  static float Apply(float a, float b) { return (a - b) * (a - b); }
  static int32_t Apply(int32_t a, int32_t b) {
    const U32 d = U32(a) - U32(b);
    return Wrap(d * d);
  }
};
struct PowFn {
  static constexpr bool kChecksRhs = true;
  static const char* CheckRhs(float) { return nullptr; }
  static const char* CheckRhs(int32_t b) {
    return b < 0 ? "integer POW with a negative exponent" : nullptr;
  }
  static float Apply(float a, float b) { return std::pow(a, b); }
  static int32_t Apply(int32_t a, int32_t b) {  // square-and-multiply, wrapping
    U32 result = 1, base = U32(a);
    for (U32 e = U32(b); e != 0; e >>= 1) {
      if (e & 1) result *= base;
      base *= base;
    }
    return Wrap(result);
  }
};

template <typename F>
Result<std::unique_ptr<Kernel>> MakeArithmetic(const PrepareContext& ctx, graph::Activation act) {
  const graph::DType t = ctx.input(0).dtype;
  if (t == graph::DType::kFloat32) return MakeBinaryKernel<float, float, F>(ctx, act);
  return MakeBinaryKernel<int32_t, int32_t, F>(ctx, act);
}

}  // namespace

Result<std::unique_ptr<Kernel>> PrepareArithmetic(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 2, 1));
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(0, {graph::DType::kFloat32, graph::DType::kInt32,
                                                graph::DType::kInt8, graph::DType::kInt16}));
  const graph::DType t = ctx.input(0).dtype;
  if (t == graph::DType::kInt8 || t == graph::DType::kInt16) return PrepareArithmeticInteger(ctx);
  if (ctx.input(1).dtype != t) {
    return ctx.Error(std::string("inputs have different dtypes (") + graph::DTypeName(t) + " and " +
                     graph::DTypeName(ctx.input(1).dtype) + ")");
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, t));
  graph::Activation act = graph::Activation::kNone;
  if (const auto* opts = std::get_if<graph::BinaryOptions>(&ctx.op().options)) {
    act = opts->activation;
  } else if (!std::holds_alternative<graph::NoOptions>(ctx.op().options)) {
    return ctx.Error("carries options of another op");
  }
  LITEQ_RETURN_IF_ERROR(CheckActivation(ctx, act, t));
  switch (ctx.op().code) {
    case graph::OpCode::kAdd:
      return MakeArithmetic<AddFn>(ctx, act);
    case graph::OpCode::kSub:
      return MakeArithmetic<SubFn>(ctx, act);
    case graph::OpCode::kMul:
      return MakeArithmetic<MulFn>(ctx, act);
    case graph::OpCode::kDiv:
      return MakeArithmetic<DivFn>(ctx, act);
    case graph::OpCode::kMaximum:
      return MakeArithmetic<MaximumFn>(ctx, act);
    case graph::OpCode::kMinimum:
      return MakeArithmetic<MinimumFn>(ctx, act);
    case graph::OpCode::kSquaredDifference:
      return MakeArithmetic<SquaredDifferenceFn>(ctx, act);
    case graph::OpCode::kPow:
      return MakeArithmetic<PowFn>(ctx, act);
    default:
      return ctx.Error("is not an arithmetic op");
  }
}

}  // namespace liteq::runtime
