// BATCH_MATMUL (float): out[..., m, n] = sum_k lhs[..., m, k] * rhs[..., k, n], with
// adj_x / adj_y transposing the last two dims of lhs / rhs and numpy broadcasting of
// the batch dims (ranks 2 to 5, as TFLite). adj_y (attention's Q x K^T) maps to the
// dot-product form; plain rhs (probabilities x V) to the row-broadcast form; adj_x
// transposes lhs into scratch.
#include <algorithm>

#include "runtime/kernels/kernels.h"
#include "runtime/kernels/matmul.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

constexpr int kMaxBatchMatMulRank = 5;

class BatchMatMulKernel : public Kernel {
 public:
  struct Dims {
    size_t m, n, k;
    bool adj_x, adj_y;
  };
  BatchMatMulKernel(Dims dims, std::vector<int64_t> lhs_offsets, std::vector<int64_t> rhs_offsets)
      : d_(dims), lhs_offsets_(std::move(lhs_offsets)), rhs_offsets_(std::move(rhs_offsets)) {}

  Status Eval(const EvalContext& ctx) override {
    const float* lhs = In<float>(ctx, 0);
    const float* rhs = In<float>(ctx, 1);
    float* out = Out<float>(ctx, 0);
    float* lhs_t = reinterpret_cast<float*>(ctx.scratch);
    for (size_t b = 0; b < lhs_offsets_.size(); ++b) {
      MatMulArgs p;
      p.m = d_.m;
      p.n = d_.n;
      p.k = d_.k;
      const float* a = lhs + lhs_offsets_[b];
      if (d_.adj_x) {  // stored [k, m]
        for (size_t i = 0; i < d_.m; ++i) {
          for (size_t kk = 0; kk < d_.k; ++kk) lhs_t[i * d_.k + kk] = a[kk * d_.m + i];
        }
        a = lhs_t;
      }
      p.a = a;
      p.lda = d_.k;
      p.b = rhs + rhs_offsets_[b];
      p.c = out + b * d_.m * d_.n;
      p.ldc = d_.n;
      if (d_.adj_y) {  // stored [n, k]
        p.ldb = d_.k;
        FastMatMulNT(p, 0, d_.n);
      } else {  // stored [k, n]
        p.ldb = d_.n;
        FastMatMulNN(p);
      }
    }
    return Status::Ok();
  }

 private:
  Dims d_;
  std::vector<int64_t> lhs_offsets_, rhs_offsets_;  // element offsets per output batch
};

}  // namespace

PrepareResult PrepareBatchMatMul(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 2, 1));
  LITEQ_RETURN_IF_ERROR(
      ctx.CheckInputDType(0, {graph::DType::kFloat32, graph::DType::kInt8, graph::DType::kInt16}));
  if (ctx.input(0).dtype != graph::DType::kFloat32) return PrepareBatchMatMulInteger(ctx);
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(1, {graph::DType::kFloat32}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, graph::DType::kFloat32));
  graph::BatchMatMulOptions opts;
  if (const auto* o = std::get_if<graph::BatchMatMulOptions>(&ctx.op().options)) opts = *o;
  const Shape& lhs = ctx.input(0).shape;
  const Shape& rhs = ctx.input(1).shape;
  for (const Shape* s : {&lhs, &rhs}) {
    if (s->size() < 2 || s->size() > kMaxBatchMatMulRank) {
      return ctx.Error("operands must have rank 2 to 5, got " + ShapeToString(lhs) + " and " +
                       ShapeToString(rhs));
    }
  }
  const size_t lr = lhs.size(), rr = rhs.size();
  const int64_t m = opts.adj_x ? lhs[lr - 1] : lhs[lr - 2];
  const int64_t k = opts.adj_x ? lhs[lr - 2] : lhs[lr - 1];
  const int64_t rk = opts.adj_y ? rhs[rr - 1] : rhs[rr - 2];
  const int64_t n = opts.adj_y ? rhs[rr - 2] : rhs[rr - 1];
  if (k != rk) {
    return ctx.Error("contraction sizes differ: lhs " + ShapeToString(lhs) +
                     (opts.adj_x ? " (adj_x)" : "") + " has " + std::to_string(k) + ", rhs " +
                     ShapeToString(rhs) + (opts.adj_y ? " (adj_y)" : "") + " has " +
                     std::to_string(rk));
  }
  const Shape lhs_batch(lhs.begin(), lhs.end() - 2), rhs_batch(rhs.begin(), rhs.end() - 2);
  Result<Shape> batch = BroadcastShapes({lhs_batch, rhs_batch});
  if (!batch.ok()) return ctx.Error("batch dims: " + batch.status().message());
  Shape out = *batch;
  out.push_back(static_cast<int32_t>(m));
  out.push_back(static_cast<int32_t>(n));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  // Element offset of each output batch's lhs and rhs matrices (broadcast dims repeat).
  const int64_t batches = NumElements(*batch);
  std::vector<int64_t> lhs_offsets(batches), rhs_offsets(batches);
  BroadcastPlan plan = MakeBroadcastPlan(*batch, {lhs_batch, rhs_batch});
  const int64_t lhs_matrix = lhs[lr - 2] * int64_t{lhs[lr - 1]};
  const int64_t rhs_matrix = rhs[rr - 2] * int64_t{rhs[rr - 1]};
  ForEachBroadcastRow(plan, [&](int64_t o, const int64_t* offs, int64_t count) {
    for (int64_t j = 0; j < count; ++j) {
      lhs_offsets[o + j] = (offs[0] + j * plan.inner_stride(0)) * lhs_matrix;
      rhs_offsets[o + j] = (offs[1] + j * plan.inner_stride(1)) * rhs_matrix;
    }
  });
  if (opts.adj_x) ctx.RequestScratch(static_cast<size_t>(m * k) * sizeof(float));
  BatchMatMulKernel::Dims dims{static_cast<size_t>(m), static_cast<size_t>(n),
                               static_cast<size_t>(k), opts.adj_x, opts.adj_y};
  return PrepareResult(
      std::make_unique<BatchMatMulKernel>(dims, std::move(lhs_offsets), std::move(rhs_offsets)));
}

}  // namespace liteq::runtime
