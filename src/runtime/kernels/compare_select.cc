// LESS, LESS_EQUAL, GREATER, GREATER_EQUAL, EQUAL (-> bool), LOGICAL_AND and SELECT_V2,
// all with numpy broadcasting. Bools are stored as one byte; any non-zero byte reads as
// true and kernels write 0 or 1 (reading a stored byte as C++ bool would be UB for
// values other than 0/1 coming from a file or a user buffer).
#include <cstdint>
#include <cstring>

#include "runtime/kernels/broadcast_kernel.h"
#include "runtime/kernels/kernels.h"

namespace liteq::runtime {
namespace {

struct Cmp {
  static constexpr bool kChecksRhs = false;
};
struct LessFn : Cmp {
  template <typename T>
  static uint8_t Apply(T a, T b) {
    return a < b;
  }
};
struct LessEqualFn : Cmp {
  template <typename T>
  static uint8_t Apply(T a, T b) {
    return a <= b;
  }
};
struct GreaterFn : Cmp {
  template <typename T>
  static uint8_t Apply(T a, T b) {
    return a > b;
  }
};
struct GreaterEqualFn : Cmp {
  template <typename T>
  static uint8_t Apply(T a, T b) {
    return a >= b;
  }
};
struct EqualFn : Cmp {
  template <typename T>
  static uint8_t Apply(T a, T b) {
    return a == b;
  }
  static uint8_t Apply(uint8_t a, uint8_t b) { return (a != 0) == (b != 0); }
};
struct LogicalAndFn : Cmp {
  static uint8_t Apply(uint8_t a, uint8_t b) { return a != 0 && b != 0; }
};

template <typename F>
PrepareResult MakeComparison(const PrepareContext& ctx) {
  switch (ctx.input(0).dtype) {
    case graph::DType::kFloat32:
      return MakeBinaryKernel<float, uint8_t, F>(ctx, graph::Activation::kNone);
    case graph::DType::kInt32:
      return MakeBinaryKernel<int32_t, uint8_t, F>(ctx, graph::Activation::kNone);
    default:
      if constexpr (std::is_same_v<F, EqualFn>) {
        return MakeBinaryKernel<uint8_t, uint8_t, F>(ctx, graph::Activation::kNone);
      }
      return ctx.Unsupported("comparison of this dtype");
  }
}

Status CheckSameInputDTypes(const PrepareContext& ctx, size_t first, size_t last) {
  for (size_t i = first + 1; i <= last; ++i) {
    if (ctx.input(i).dtype != ctx.input(first).dtype) {
      return ctx.Error("input " + std::to_string(i) + " has dtype " +
                       graph::DTypeName(ctx.input(i).dtype) + " but input " +
                       std::to_string(first) + " has " + graph::DTypeName(ctx.input(first).dtype));
    }
  }
  return Status::Ok();
}

// SELECT_V2(condition, x, y): out = condition ? x : y, all three broadcast.
template <typename T>
class SelectV2Kernel : public Kernel {
 public:
  explicit SelectV2Kernel(BroadcastPlan plan) : plan_(std::move(plan)) {}
  Status Eval(const EvalContext& ctx) override {
    const uint8_t* cond = In<uint8_t>(ctx, 0);
    const T* x = In<T>(ctx, 1);
    const T* y = In<T>(ctx, 2);
    T* out = Out<T>(ctx, 0);
    const int64_t sc = plan_.inner_stride(0), sx = plan_.inner_stride(1),
                  sy = plan_.inner_stride(2);
    ForEachBroadcastRow(plan_, [&](int64_t o, const int64_t* offs, int64_t n) {
      const uint8_t* pc = cond + offs[0];
      const T* px = x + offs[1];
      const T* py = y + offs[2];
      for (int64_t j = 0; j < n; ++j) {
        out[o + j] = pc[j * sc] != 0 ? px[j * sx] : py[j * sy];
      }
    });
    return Status::Ok();
  }

 private:
  BroadcastPlan plan_;
};

}  // namespace

PrepareResult PrepareComparison(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 2, 1));
  LITEQ_RETURN_IF_ERROR(
      ctx.CheckInputDType(0, {graph::DType::kFloat32, graph::DType::kInt32, graph::DType::kBool}));
  LITEQ_RETURN_IF_ERROR(CheckSameInputDTypes(ctx, 0, 1));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, graph::DType::kBool));
  switch (ctx.op().code) {
    case graph::OpCode::kLess:
      return MakeComparison<LessFn>(ctx);
    case graph::OpCode::kLessEqual:
      return MakeComparison<LessEqualFn>(ctx);
    case graph::OpCode::kGreater:
      return MakeComparison<GreaterFn>(ctx);
    case graph::OpCode::kGreaterEqual:
      return MakeComparison<GreaterEqualFn>(ctx);
    case graph::OpCode::kEqual:
      return MakeComparison<EqualFn>(ctx);
    default:
      return ctx.Error("is not a comparison");
  }
}

PrepareResult PrepareLogicalAnd(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 2, 1));
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(0, {graph::DType::kBool}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(1, {graph::DType::kBool}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, graph::DType::kBool));
  return MakeBinaryKernel<uint8_t, uint8_t, LogicalAndFn>(ctx, graph::Activation::kNone);
}

PrepareResult PrepareSelectV2(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(3, 3, 1));
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(0, {graph::DType::kBool}));
  LITEQ_RETURN_IF_ERROR(CheckSameInputDTypes(ctx, 1, 2));
  const graph::DType t = ctx.input(1).dtype;
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, t));
  LITEQ_ASSIGN_OR_RETURN(BroadcastPlan plan, PrepareBroadcast(ctx, 3));
  switch (t) {
    case graph::DType::kFloat32:
      return PrepareResult(std::make_unique<SelectV2Kernel<float>>(plan));
    case graph::DType::kInt32:
      return PrepareResult(std::make_unique<SelectV2Kernel<int32_t>>(plan));
    case graph::DType::kBool:
      return PrepareResult(std::make_unique<SelectV2Kernel<uint8_t>>(plan));
    case graph::DType::kInt8:
    case graph::DType::kInt16: {
      // TFLite select.cc copies quantized values: both operands and the output must
      // share scale and zero point.
      for (size_t i : {size_t{1}, size_t{2}}) {
        const graph::QuantParams& q = ctx.input(i).quant;
        const graph::QuantParams& o = ctx.output(0).quant;
        if (q.scale != o.scale || q.zero_point != o.zero_point) {
          return ctx.Error("input " + std::to_string(i) + " '" + ctx.input(i).name +
                           "' has other quantization parameters than the output");
        }
      }
      if (t == graph::DType::kInt8) {
        return PrepareResult(std::make_unique<SelectV2Kernel<int8_t>>(plan));
      }
      return PrepareResult(std::make_unique<SelectV2Kernel<int16_t>>(plan));
    }
    default:
      return ctx.Unsupported(std::string("SELECT_V2 of ") + graph::DTypeName(t));
  }
}

}  // namespace liteq::runtime
