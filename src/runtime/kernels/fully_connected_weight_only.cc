#include "runtime/kernels/fully_connected_weight_only.h"

#include <algorithm>

#include "runtime/kernels/activation.h"
#include "runtime/kernels/fully_connected_shape.h"
#include "runtime/kernels/matmul.h"
#include "runtime/kernels/shape_util.h"
#include "runtime/thread_pool.h"

namespace liteq::runtime {
namespace {

// Dequantized weight rows per step: about 32 KiB of floats (L1), at least 4.
size_t RowsPerStep(size_t in) {
  return std::max<size_t>(4, (8192 / std::max<size_t>(1, in)) & ~size_t{3});
}

class WeightOnlyFullyConnectedKernel : public Kernel {
 public:
  WeightOnlyFullyConnectedKernel(size_t batch, size_t in, size_t out, bool int4, size_t block,
                                 std::vector<float> scales, bool has_bias, graph::Activation act,
                                 int threads)
      : batch_(batch),
        in_(in),
        out_(out),
        int4_(int4),
        block_(block),
        scales_(std::move(scales)),
        has_bias_(has_bias),
        act_(act),
        rows_(RowsPerStep(in)),
        threads_(std::max(1, threads)) {}

  size_t ScratchBytes() const { return threads_ * rows_ * in_ * sizeof(float); }

  Status Eval(const EvalContext& ctx) override {
    const size_t steps = (out_ + rows_ - 1) / rows_;
    const int tasks = static_cast<int>(std::min<size_t>(
        ctx.pool != nullptr ? std::min(threads_, ctx.pool->num_threads()) : 1, steps));
    auto task = [&](int t) {
      float* w = reinterpret_cast<float*>(ctx.scratch) + static_cast<size_t>(t) * rows_ * in_;
      // Contiguous ranges of steps, so each thread streams its own part of the weights.
      const size_t begin = steps * t / tasks, end = steps * (t + 1) / tasks;
      for (size_t s = begin; s < end; ++s) Step(ctx, s * rows_, w);
    };
    if (tasks <= 1) {
      task(0);
    } else {
      ctx.pool->ParallelFor(tasks, task);
    }
    ApplyActivation(Out<float>(ctx, 0), static_cast<int64_t>(batch_ * out_), act_);
    return Status::Ok();
  }

 private:
  // Output channels [n0, n0 + rows_) for every batch row.
  void Step(const EvalContext& ctx, size_t n0, float* w) const {
    const size_t n = std::min(rows_, out_ - n0);
    const size_t first = n0 * in_, count = n * in_;
    if (int4_ && block_ % 2 == 0) {
      // Blocks start on whole bytes (first and block are even): low nibble first.
      const uint8_t* packed = In<uint8_t>(ctx, 1) + first / 2;
      for (size_t b = 0; b < count; b += block_) {
        const float scale = scales_[(first + b) / block_];
        const uint8_t* bytes = packed + b / 2;
        float* dst = w + b;
        for (size_t j = 0; j < block_ / 2; ++j) {
          // Sign-extend each nibble with an arithmetic shift of its int8 placement.
          const int low = static_cast<int8_t>(static_cast<uint8_t>(bytes[j] << 4)) >> 4;
          const int high = static_cast<int8_t>(bytes[j]) >> 4;
          dst[2 * j] = static_cast<float>(low) * scale;
          dst[2 * j + 1] = static_cast<float>(high) * scale;
        }
      }
    } else if (int4_) {  // odd blocks (per-channel rows of odd length): nibble by nibble
      const uint8_t* packed = In<uint8_t>(ctx, 1);
      for (size_t b = 0; b < count; b += block_) {
        const float scale = scales_[(first + b) / block_];
        for (size_t i = 0; i < block_; ++i) {
          const size_t e = first + b + i;
          const uint8_t byte = packed[e / 2];
          const int nibble = (e % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
          w[b + i] = static_cast<float>(nibble >= 8 ? nibble - 16 : nibble) * scale;
        }
      }
    } else {
      const int8_t* q = In<int8_t>(ctx, 1) + first;
      for (size_t b = 0; b < count; b += block_) {
        const size_t len = std::min(block_, count - b);
        const float scale = scales_[(first + b) / block_];
        for (size_t i = 0; i < len; ++i) w[b + i] = static_cast<float>(q[b + i]) * scale;
      }
    }
    MatMulArgs p;
    p.a = In<float>(ctx, 0);
    p.lda = in_;
    p.b = w;
    p.ldb = in_;
    p.bias = has_bias_ ? In<float>(ctx, 2) + n0 : nullptr;
    p.c = Out<float>(ctx, 0) + n0;
    p.ldc = out_;
    p.m = batch_;
    p.n = n;
    p.k = in_;
    FastMatMulNT(p, 0, n);
  }

  size_t batch_, in_, out_;
  bool int4_;
  size_t block_;
  std::vector<float> scales_;
  bool has_bias_;
  graph::Activation act_;
  size_t rows_;
  int threads_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> PrepareWeightOnlyFullyConnected(PrepareContext& ctx,
                                                                const graph::Tensor& q,
                                                                int64_t block) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 3, 1));
  graph::FullyConnectedOptions opts;
  if (const auto* o = std::get_if<graph::FullyConnectedOptions>(&ctx.op().options)) opts = *o;
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(0, {graph::DType::kFloat32}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, graph::DType::kFloat32));
  LITEQ_RETURN_IF_ERROR(CheckActivation(ctx, opts.activation, graph::DType::kFloat32));
  const bool has_bias = ctx.has_input(2);
  if (has_bias) LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(2, {graph::DType::kFloat32}));
  LITEQ_ASSIGN_OR_RETURN(quantized::FullyConnectedShape shape,
                         PrepareFullyConnectedShape(ctx, opts.keep_num_dims));
  const int64_t in_ch = shape.depth;
  if (in_ch == 0 || block <= 0 || in_ch % block != 0 ||
      static_cast<int64_t>(q.quant.scale.size()) * block != shape.out_channels * in_ch) {
    return ctx.Error("'" + q.name + "' has " + std::to_string(q.quant.scale.size()) +
                     " scales for blocks of " + std::to_string(block) + " of weights [" +
                     std::to_string(shape.out_channels) + ", " + std::to_string(in_ch) + "]");
  }
  for (float s : q.quant.scale) {
    if (!(s > 0.0f) || !std::isfinite(s)) {
      return ctx.Error("'" + q.name + "' has scale " + std::to_string(s));
    }
  }
  auto kernel = std::make_unique<WeightOnlyFullyConnectedKernel>(
      shape.batches, in_ch, shape.out_channels, q.dtype == graph::DType::kInt4, block,
      q.quant.scale, has_bias, opts.activation, ctx.num_threads());
  ctx.RequestScratch(kernel->ScratchBytes());
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace liteq::runtime
