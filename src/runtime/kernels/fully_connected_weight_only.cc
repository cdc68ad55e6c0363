#include "runtime/kernels/fully_connected_weight_only.h"

#include <algorithm>
#include <vector>

#include "runtime/kernels/activation.h"
#include "runtime/kernels/fully_connected_shape.h"
#include "runtime/kernels/matmul.h"
#include "runtime/kernels/shape_util.h"
#include "runtime/kernels/weight_only_dot.h"
#include "runtime/kernels/weight_only_int4_q8.h"
#include "runtime/thread_pool.h"

namespace liteq::runtime {
namespace {

// Below this many activation rows the product is a GEMV: each weight is converted in
// registers and used at once (WeightOnlyGemv). From it on, a chunk of weight rows is
// dequantized to float once and the float GEMM reuses it for every activation row.
constexpr size_t kGemmMinBatch = 4;

// Dequantized weight rows per GEMM chunk: about 96 KiB of floats (the L2 block
// FastMatMulNT works in), at least 4.
size_t RowsPerChunk(size_t in) {
  return std::max<size_t>(4, (24576 / std::max<size_t>(1, in)) & ~size_t{3});
}

enum class Int4Activations { kFloat, kInt8, kInt8Reference };

// Most activation rows the int4 x int8 path takes: decode. Prefill chunks keep the
// float GEMM on dequantized rows (as fast, and exact; weight_only_int4_q8.h).
constexpr size_t kQ8MaxBatch = kGemmMinBatch - 1;
static_assert(kQ8MaxBatch < kGemmMinBatch, "the int4 x int8 path is a GEMV");

// Weight rows per GEMV task (threads take contiguous ranges of tasks).
constexpr size_t kGemvRowsPerTask = 64;
// The same for the int4 x int8 GEMV: finer, so that 2 threads split the 192 rows of
// a k/v projection (SmolLM2) evenly instead of 64/128; a multiple of the 2 rows the
// kernel takes at a time.
constexpr size_t kQ8GemvRowsPerTask = 16;

class WeightOnlyFullyConnectedKernel : public Kernel {
 public:
  WeightOnlyFullyConnectedKernel(size_t batch, size_t in, size_t out, bool int4, size_t block,
                                 const float* scales, bool has_bias, graph::Activation act,
                                 int threads, Int4Activations int4_activations, bool product)
      : batch_(batch),
        in_(in),
        out_(out),
        has_bias_(has_bias),
        act_(act),
        rows_(RowsPerChunk(in)),
        threads_(std::max(1, threads)),
        product_(product) {
    matrix_.int4 = int4;
    matrix_.rows = out;
    matrix_.depth = in;
    matrix_.block = block;
    matrix_.scales = scales;
    q8_ = int4_activations != Int4Activations::kFloat && batch_ <= kQ8MaxBatch &&
          Int4Q8Supports(matrix_);
    if (q8_) q8_rows_.resize(batch_);
    q8_reference_ = int4_activations == Int4Activations::kInt8Reference;
  }

  size_t ScratchBytes() const { return ProductOffset() + ProductBytes(); }

  Status Eval(const EvalContext& ctx) override {
    WeightOnlyMatrix w = matrix_;
    w.data = In<uint8_t>(ctx, 1);
    const bool gemv = batch_ < kGemmMinBatch;
    Q8Row* q8_rows = q8_rows_.data();
    // With product_, the FC's values go to scratch first: out may be m's storage.
    float* fc_out = product_ && !GemmPath() ? ProductScratch(ctx, 0) : Out<float>(ctx, 0);
    if (q8_) {
      // Each activation row quantized once, before the weight rows are split.
      for (size_t b = 0; b < batch_; ++b) {
        q8_rows[b] = Q8RowInScratch(ctx.scratch, in_, batch_, b);
        if (q8_reference_) {
          ReferenceQuantizeQ8Activations(In<float>(ctx, 0) + b * in_, in_, q8_rows[b]);
        } else {
          QuantizeQ8Activations(In<float>(ctx, 0) + b * in_, in_, q8_rows[b]);
        }
      }
    }
    const size_t unit = q8_ ? kQ8GemvRowsPerTask : gemv ? kGemvRowsPerTask : rows_;
    const size_t steps = (out_ + unit - 1) / unit;
    const int tasks = std::max(
        1, static_cast<int>(std::min<size_t>(
               ctx.pool != nullptr ? std::min(threads_, ctx.pool->num_threads()) : 1, steps)));
    auto task = [&](int t) {
      // Contiguous ranges of rows, so each thread streams its own part of the weights.
      const size_t begin = std::min(out_, steps * t / tasks * unit);
      const size_t end = std::min(out_, steps * (t + 1) / tasks * unit);
      if (q8_) {
        Int4Q8GemvArgs a;
        a.x = q8_rows;
        a.batches = batch_;
        a.bias = has_bias_ ? In<float>(ctx, 2) : nullptr;
        a.out = fc_out;
        a.ldo = out_;
        if (q8_reference_) {
          ReferenceInt4Q8Gemv(w, a, begin, end);
        } else {
          Int4Q8Gemv(w, a, begin, end);
        }
      } else if (gemv) {
        Gemv(ctx, w, begin, end, fc_out);
      } else {
        float* scratch =
            reinterpret_cast<float*>(ctx.scratch) + static_cast<size_t>(t) * rows_ * in_;
        for (size_t n0 = begin; n0 < end; n0 += rows_)
          Chunk(ctx, w, n0, std::min(end, n0 + rows_), scratch, t);
        return;
      }
      if (product_) MultiplyColumns(ctx, fc_out + begin, out_, begin, end);
    };
    if (tasks <= 1) {
      task(0);
    } else {
      ctx.pool->ParallelFor(tasks, task);
    }
    if (!product_) ApplyActivation(Out<float>(ctx, 0), static_cast<int64_t>(batch_ * out_), act_);
    return Status::Ok();
  }

 private:
  bool GemmPath() const { return !q8_ && batch_ >= kGemmMinBatch; }

  // Scratch: the quantized activations (q8) or each thread's dequantized weight rows
  // (GEMM), then with product_ the FC's values before the product: all of them
  // (GEMV: every output row is short), or each thread's [batch, rows_] tile (GEMM).
  size_t ProductOffset() const {
    const size_t bytes = q8_          ? Q8ScratchBytes(in_, batch_)
                         : GemmPath() ? threads_ * rows_ * in_ * sizeof(float)
                                      : 0;
    return (bytes + 63) / 64 * 64;
  }
  size_t ProductBytes() const {
    if (!product_) return 0;
    return (GemmPath() ? threads_ * batch_ * rows_ : batch_ * out_) * sizeof(float);
  }
  float* ProductScratch(const EvalContext& ctx, int thread) const {
    const size_t tile = GemmPath() ? batch_ * rows_ : 0;
    return reinterpret_cast<float*>(ctx.scratch + ProductOffset()) +
           static_cast<size_t>(thread) * tile;
  }

  // out[b, n] = fc[b * ld_fc + n - begin] * m[b, n] for channels [begin, end): MUL's
  // float product, m read before out (possibly the same bytes) is written.
  void MultiplyColumns(const EvalContext& ctx, const float* fc, size_t ld_fc, size_t begin,
                       size_t end) const {
    const float* m = In<float>(ctx, 3);
    float* out = Out<float>(ctx, 0);
    for (size_t b = 0; b < batch_; ++b) {
      const float* f = fc + b * ld_fc;
      const float* mb = m + b * out_;
      float* ob = out + b * out_;
      for (size_t n = begin; n < end; ++n) ob[n] = f[n - begin] * mb[n];
    }
  }

  void Gemv(const EvalContext& ctx, const WeightOnlyMatrix& w, size_t begin, size_t end,
            float* out) const {
    WeightOnlyGemvArgs a;
    a.x = In<float>(ctx, 0);
    a.ldx = in_;
    a.batches = batch_;
    a.bias = has_bias_ ? In<float>(ctx, 2) : nullptr;
    a.out = out;
    a.ldo = out_;
    WeightOnlyGemv(w, a, begin, end);
  }

  // Output channels [n0, n1) for every batch row: the rows dequantized exactly as
  // DEQUANTIZE would, then the float GEMM (so the results equal the folded path).
  void Chunk(const EvalContext& ctx, const WeightOnlyMatrix& w, size_t n0, size_t n1,
             float* scratch, int thread) const {
    DequantizeWeightRows(w, n0, n1, scratch);
    MatMulArgs p;
    p.a = In<float>(ctx, 0);
    p.lda = in_;
    p.b = scratch;
    p.ldb = in_;
    p.bias = has_bias_ ? In<float>(ctx, 2) + n0 : nullptr;
    p.c = product_ ? ProductScratch(ctx, thread) : Out<float>(ctx, 0) + n0;
    p.ldc = product_ ? rows_ : out_;
    p.m = batch_;
    p.n = n1 - n0;
    p.k = in_;
    FastMatMulNT(p, 0, n1 - n0);
    if (product_) MultiplyColumns(ctx, p.c, rows_, n0, n1);
  }

  size_t batch_, in_, out_;
  WeightOnlyMatrix matrix_;
  bool has_bias_;
  graph::Activation act_;
  size_t rows_;
  int threads_;
  bool product_;                // out = FC(x) * input 3 (a fused MUL)
  bool q8_ = false;             // int4 weights x activations quantized per group (decode)
  bool q8_reference_ = false;   // its scalar reference
  std::vector<Q8Row> q8_rows_;  // the quantized activation rows in scratch (Eval)
};

}  // namespace

Result<std::unique_ptr<Kernel>> PrepareWeightOnlyFullyConnected(PrepareContext& ctx,
                                                                const graph::Tensor& q,
                                                                int64_t block,
                                                                bool int4_int8_activations,
                                                                bool product) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 3, 1));
  graph::FullyConnectedOptions opts;
  if (const auto* o = std::get_if<graph::FullyConnectedOptions>(&ctx.op().options)) opts = *o;
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(0, {graph::DType::kFloat32}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, graph::DType::kFloat32));
  LITEQ_RETURN_IF_ERROR(CheckActivation(ctx, opts.activation, graph::DType::kFloat32));
  if (product && opts.activation != graph::Activation::kNone) {
    return ctx.Error("a fused product needs an FC without fused activation");
  }
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
      q.quant.scale.data(), has_bias, opts.activation, ctx.num_threads(),
      !int4_int8_activations        ? Int4Activations::kFloat
      : ctx.use_reference_kernels() ? Int4Activations::kInt8Reference
                                    : Int4Activations::kInt8,
      product);
  ctx.RequestScratch(kernel->ScratchBytes());
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace liteq::runtime
