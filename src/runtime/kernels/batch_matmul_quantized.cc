// BATCH_MATMUL int8 x int8 -> int8 and int16 x int16 -> int16, per-tensor parameters
// (QUANT_SPEC.md), with adj_x / adj_y and broadcast batch dimensions like the float
// kernel. Arithmetic: runtime/kernels/quantized/batch_matmul_int (reference) and, for
// int8 unless InterpreterOptions::use_reference_kernels, batch_matmul_fast (bit-exact).
#include <algorithm>
#include <array>

#include "runtime/kernels/kernels.h"
#include "runtime/kernels/quantized/batch_matmul_fast.h"
#include "runtime/kernels/quantized/batch_matmul_int.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/kernels/shape_util.h"
#include "runtime/thread_pool.h"

namespace liteq::runtime {
namespace {

template <typename T>
class BatchMatMulIntKernel : public Kernel {
 public:
  explicit BatchMatMulIntKernel(quantized::BatchMatMulInt8Params p) : p_(std::move(p)) {}
  Status Eval(const EvalContext& ctx) override {
    const auto lhs_n = static_cast<size_t>(p_.batches.input1_size * p_.rows * p_.depth);
    const auto rhs_n = static_cast<size_t>(p_.batches.input2_size * p_.depth * p_.cols);
    const auto out_n = static_cast<size_t>(p_.batches.output_size * p_.rows * p_.cols);
    std::span<const T> lhs(this->template In<T>(ctx, 0), lhs_n);
    std::span<const T> rhs(this->template In<T>(ctx, 1), rhs_n);
    std::span<T> out(this->template Out<T>(ctx, 0), out_n);
    if constexpr (std::is_same_v<T, int8_t>) {
      quantized::BatchMatMulInt8(p_, lhs, rhs, out);
    } else {
      quantized::BatchMatMulInt16(p_, lhs, rhs, out);
    }
    return Status::Ok();
  }

 private:
  quantized::BatchMatMulInt8Params p_;
};

// int8 on the dot core (quantized/batch_matmul_fast.h, same integers as the
// reference): operands staged into scratch once, then (output batch, column range)
// blocks spread over the thread pool.
inline constexpr size_t kSerialMultiplyAdds = 524288;

class FastBatchMatMulInt8Kernel : public Kernel {
 public:
  explicit FastBatchMatMulInt8Kernel(quantized::BatchMatMulInt8Params p)
      : p_(std::move(p)),
        batches_(quantized::BatchMatMulBatchIndices(p_)),
        dots_(quantized::BestInt8Dots()),
        requantize_(quantized::BestBatchMatMulRequantize()) {}

  Status Eval(const EvalContext& ctx) override {
    const quantized::StagedBatchMatMulInt8 staged = quantized::StageBatchMatMulInt8(
        p_, In<int8_t>(ctx, 0), In<int8_t>(ctx, 1), ctx.scratch, dots_);
    int8_t* out = Out<int8_t>(ctx, 0);
    const int threads = ctx.pool != nullptr ? ctx.pool->num_threads() : 1;
    const auto cols = static_cast<size_t>(p_.cols);
    // Column chunks of ~512K multiply-adds (~25 us; multiples of 16, the dot core's
    // row block): smaller ones cost more in hand-off than they gain.
    const size_t per_col = std::max<size_t>(1, static_cast<size_t>(p_.rows * p_.depth));
    const size_t chunk = threads <= 1
                             ? std::max<size_t>(1, cols)
                             : std::max<size_t>(16, (kSerialMultiplyAdds / per_col + 15) / 16 * 16);
    const size_t chunks = cols == 0 ? 0 : (cols + chunk - 1) / chunk;
    const size_t tasks = batches_.size() * chunks;
    auto task = [&](int t) {
      const size_t batch = static_cast<size_t>(t) / chunks;
      const size_t begin = (static_cast<size_t>(t) % chunks) * chunk;
      const size_t end = std::min(cols, begin + chunk);
      quantized::FastBatchMatMulInt8Block(p_, staged, batches_[batch], out,
                                          static_cast<int64_t>(begin), static_cast<int64_t>(end),
                                          dots_, requantize_);
    };
    // The whole op below one chunk's work (a decode step's attention: 9 x 192 x 64
    // multiply-adds per product) runs on this thread: waking a worker costs more.
    const size_t work = batches_.size() * cols * per_col;
    if (threads <= 1 || tasks <= 1 || work < kSerialMultiplyAdds) {
      for (size_t t = 0; t < tasks; ++t) task(static_cast<int>(t));
    } else {
      ctx.pool->ParallelFor(static_cast<int>(tasks), task);
    }
    return Status::Ok();
  }

 private:
  quantized::BatchMatMulInt8Params p_;
  std::vector<std::array<int64_t, 3>> batches_;
  quantized::Int8DotsFn dots_;
  quantized::BatchMatMulRequantizeFn requantize_;
};

}  // namespace

PrepareResult PrepareBatchMatMulInteger(PrepareContext& ctx) {
  const graph::DType t = ctx.input(0).dtype;
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(1, {t}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, t));
  graph::BatchMatMulOptions opts;
  if (const auto* o = std::get_if<graph::BatchMatMulOptions>(&ctx.op().options)) opts = *o;
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams lhs_q, InputParams(ctx, 0));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams rhs_q, InputParams(ctx, 1));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out_q, OutputParams(ctx, 0));
  const std::vector<int64_t> lhs = Dims64(ctx.input(0).shape), rhs = Dims64(ctx.input(1).shape);
  Result<quantized::BatchMatMulInt8Params> p =
      t == graph::DType::kInt8
          ? quantized::PrepareBatchMatMulInt8(lhs_q, lhs, rhs_q, rhs, out_q, opts.adj_x, opts.adj_y)
          : quantized::PrepareBatchMatMulInt16(lhs_q, lhs, rhs_q, rhs, out_q, opts.adj_x,
                                               opts.adj_y);
  if (!p.ok()) return WithOpLabel(ctx, p.status());
  LITEQ_RETURN_IF_ERROR(
      ctx.CheckOutputShape(0, Shape(p->output_shape.begin(), p->output_shape.end())));
  if (t == graph::DType::kInt8) {
    if (!ctx.use_reference_kernels()) {
      ctx.RequestScratch(quantized::FastBatchMatMulInt8ScratchBytes(*p));
      return PrepareResult(std::make_unique<FastBatchMatMulInt8Kernel>(std::move(*p)));
    }
    return PrepareResult(std::make_unique<BatchMatMulIntKernel<int8_t>>(std::move(*p)));
  }
  return PrepareResult(std::make_unique<BatchMatMulIntKernel<int16_t>>(std::move(*p)));
}

}  // namespace liteq::runtime
