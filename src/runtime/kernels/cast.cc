// CAST between float32, int32 and bool. float -> int32 truncates toward zero like
// static_cast (TFLite), saturating out-of-range values and mapping NaN to 0 so that no
// input is undefined behaviour; -> bool is `!= 0`; bool -> number is 0 or 1.
#include <cmath>
#include <cstdint>

#include "runtime/kernels/kernels.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

inline int32_t FloatToInt32(float x) {
  if (std::isnan(x)) return 0;
  if (x >= 2147483648.0f) return INT32_MAX;
  if (x <= -2147483648.0f) return INT32_MIN;
  return static_cast<int32_t>(x);
}

template <typename From, typename To>
To Convert(From v) {
  if constexpr (std::is_same_v<To, uint8_t>) {  // bool
    return v != From(0) ? 1 : 0;
  } else if constexpr (std::is_same_v<From, uint8_t>) {
    return v != 0 ? To(1) : To(0);
  } else if constexpr (std::is_same_v<From, float> && std::is_same_v<To, int32_t>) {
    return FloatToInt32(v);
  } else {
    return static_cast<To>(v);
  }
}

template <typename From, typename To>
class CastKernel : public Kernel {
 public:
  explicit CastKernel(int64_t n) : n_(n) {}
  Status Eval(const EvalContext& ctx) override {
    const From* in = In<From>(ctx, 0);
    To* out = Out<To>(ctx, 0);
    for (int64_t i = 0; i < n_; ++i) out[i] = Convert<From, To>(in[i]);
    return Status::Ok();
  }

 private:
  int64_t n_;
};

template <typename From>
PrepareResult MakeCast(const PrepareContext& ctx, int64_t n) {
  switch (ctx.output(0).dtype) {
    case graph::DType::kFloat32:
      return PrepareResult(std::make_unique<CastKernel<From, float>>(n));
    case graph::DType::kInt32:
      return PrepareResult(std::make_unique<CastKernel<From, int32_t>>(n));
    case graph::DType::kBool:
      return PrepareResult(std::make_unique<CastKernel<From, uint8_t>>(n));
    default:
      return ctx.Unsupported(std::string("cast to ") + graph::DTypeName(ctx.output(0).dtype));
  }
}

}  // namespace

PrepareResult PrepareCast(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(1, 1, 1));
  LITEQ_RETURN_IF_ERROR(
      ctx.CheckInputDType(0, {graph::DType::kFloat32, graph::DType::kInt32, graph::DType::kBool}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, ctx.input(0).shape));
  const int64_t n = NumElements(ctx.input(0).shape);
  switch (ctx.input(0).dtype) {
    case graph::DType::kFloat32:
      return MakeCast<float>(ctx, n);
    case graph::DType::kInt32:
      return MakeCast<int32_t>(ctx, n);
    default:
      return MakeCast<uint8_t>(ctx, n);
  }
}

}  // namespace liteq::runtime
