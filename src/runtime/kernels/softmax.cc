// SOFTMAX over the last axis: out = exp(beta * (x - max)) / sum, with the row maximum
// subtracted first so large logits cannot overflow (as TFLite's reference kernel).
// exp is the SIMD one (float_math_simd.h, within kExpSimdMaxRelError); the fused
// attention kernel computes its softmax the same way.
#include <cmath>

#include "runtime/kernels/float_math_simd.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

class SoftmaxKernel : public Kernel {
 public:
  SoftmaxKernel(int64_t rows, int64_t cols, float beta) : rows_(rows), cols_(cols), beta_(beta) {}
  Status Eval(const EvalContext& ctx) override {
    const float* in = In<float>(ctx, 0);
    float* out = Out<float>(ctx, 0);
    for (int64_t r = 0; r < rows_; ++r) {
      const float* x = in + r * cols_;
      float* y = out + r * cols_;
      const float max = SimdMax(x, static_cast<size_t>(cols_));
      for (int64_t c = 0; c < cols_; ++c) y[c] = beta_ * (x[c] - max);
      SimdFloatUnary(FloatUnaryOp::kExp, y, y, static_cast<size_t>(cols_));
      float sum = 0.0f;
      for (int64_t c = 0; c < cols_; ++c) sum += y[c];
      const float inv = 1.0f / sum;
      for (int64_t c = 0; c < cols_; ++c) y[c] *= inv;
    }
    return Status::Ok();
  }

 private:
  int64_t rows_, cols_;
  float beta_;
};

}  // namespace

PrepareResult PrepareSoftmax(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(1, 1, 1));
  LITEQ_RETURN_IF_ERROR(
      ctx.CheckInputDType(0, {graph::DType::kFloat32, graph::DType::kInt8, graph::DType::kInt16}));
  if (ctx.input(0).dtype != graph::DType::kFloat32) return PrepareSoftmaxInteger(ctx);
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, graph::DType::kFloat32));
  const Shape& shape = ctx.input(0).shape;
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, shape));
  if (shape.empty()) return ctx.Error("input must have rank >= 1");
  float beta = 1.0f;
  if (const auto* o = std::get_if<graph::SoftmaxOptions>(&ctx.op().options)) beta = o->beta;
  if (!std::isfinite(beta)) return ctx.Error("beta must be finite");
  const int64_t cols = shape.back();
  const int64_t rows = cols == 0 ? 0 : NumElements(shape) / cols;
  return PrepareResult(std::make_unique<SoftmaxKernel>(rows, cols, beta));
}

}  // namespace liteq::runtime
