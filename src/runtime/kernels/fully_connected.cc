// FULLY_CONNECTED (float): out[b, o] = act(sum_i in[b, i] * w[o, i] + bias[o]).
// Weights [out, in]; the input is flattened to [-1, in]; the output is [batch, out],
// or the input's leading dims + [out] with keep_num_dims (TFLite semantics).
// Output channels are split across the thread pool when it has workers.
#include <algorithm>

#include "runtime/kernels/activation.h"
#include "runtime/kernels/fully_connected_shape.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/matmul.h"
#include "runtime/kernels/shape_util.h"
#include "runtime/thread_pool.h"

namespace liteq::runtime {
namespace {

class FullyConnectedKernel : public Kernel {
 public:
  FullyConnectedKernel(size_t batch, size_t in, size_t out, bool has_bias, graph::Activation act)
      : batch_(batch), in_(in), out_(out), has_bias_(has_bias), act_(act) {}

  Status Eval(const EvalContext& ctx) override {
    MatMulArgs p;
    p.a = In<float>(ctx, 0);
    p.lda = in_;
    p.b = In<float>(ctx, 1);
    p.ldb = in_;
    p.bias = has_bias_ ? In<float>(ctx, 2) : nullptr;
    p.c = Out<float>(ctx, 0);
    p.ldc = out_;
    p.m = batch_;
    p.n = out_;
    p.k = in_;
    const int threads = ctx.pool != nullptr ? ctx.pool->num_threads() : 1;
    // Enough work per task to amortise the hand-off (~64K multiply-adds).
    const size_t min_cols = std::max<size_t>(4, 65536 / std::max<size_t>(1, batch_ * in_));
    const int tasks = static_cast<int>(std::min<size_t>(threads, (out_ + min_cols - 1) / min_cols));
    if (tasks <= 1) {
      FastMatMulNT(p, 0, out_);
    } else {
      // Column ranges rounded to multiples of 4 so tiles stay full.
      const size_t chunk = ((out_ + tasks - 1) / tasks + 3) / 4 * 4;
      auto task = [&](int t) {
        const size_t begin = std::min(out_, t * chunk);
        const size_t end = std::min(out_, begin + chunk);
        if (begin < end) FastMatMulNT(p, begin, end);
      };
      ctx.pool->ParallelFor(tasks, task);
    }
    ApplyActivation(p.c, static_cast<int64_t>(batch_ * out_), act_);
    return Status::Ok();
  }

 private:
  size_t batch_, in_, out_;
  bool has_bias_;
  graph::Activation act_;
};

}  // namespace

PrepareResult PrepareFullyConnected(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 3, 1));
  graph::FullyConnectedOptions opts;
  if (const auto* o = std::get_if<graph::FullyConnectedOptions>(&ctx.op().options)) opts = *o;
  LITEQ_RETURN_IF_ERROR(
      ctx.CheckInputDType(0, {graph::DType::kFloat32, graph::DType::kInt8, graph::DType::kInt16}));
  if (ctx.input(0).dtype != graph::DType::kFloat32) return PrepareFullyConnectedInteger(ctx, opts);
  if (ctx.input(1).dtype == graph::DType::kInt8) return PrepareFullyConnectedHybrid(ctx, opts);
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(1, {graph::DType::kFloat32}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, graph::DType::kFloat32));
  LITEQ_RETURN_IF_ERROR(CheckActivation(ctx, opts.activation, graph::DType::kFloat32));
  const bool has_bias = ctx.has_input(2);
  if (has_bias) LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(2, {graph::DType::kFloat32}));
  LITEQ_ASSIGN_OR_RETURN(quantized::FullyConnectedShape shape,
                         PrepareFullyConnectedShape(ctx, opts.keep_num_dims));
  return PrepareResult(std::make_unique<FullyConnectedKernel>(
      shape.batches, shape.depth, shape.out_channels, has_bias, opts.activation));
}

}  // namespace liteq::runtime
