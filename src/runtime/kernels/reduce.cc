// MEAN, SUM, REDUCE_MAX over the axes given by a constant int32 tensor (negative axes
// count from the end, duplicates are ignored, as TFLite), with keep_dims. Float sums
// accumulate in double; REDUCE_MAX of an empty range gives the dtype's lowest value.
//
// Float MEAN/SUM over trailing axes (RMSNorm's MEAN over the hidden dim) sums each
// row with SimdSumToDouble: lane l of the double vector accumulates elements
// i % lanes == l, then the lanes and the tail are added in order. The reference
// kernels (use_scalar_float_kernels) sum sequentially in double. Both orders are exact
// up to double rounding (n * 2^-53 relative for rows of equal-signed values), so the
// float results agree to kReduceSimdMaxUlp unless a row's sum cancels.
#include <algorithm>
#include <limits>

#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/float_math_simd.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

enum class ReduceKind { kMean, kSum, kMax };

template <typename T>
class ReduceKernel : public Kernel {
 public:
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, int64_t>;

  ReduceKernel(ReduceKind kind, Shape in_shape, std::vector<bool> reduced, int64_t out_count,
               bool use_simd)
      : kind_(kind), out_count_(out_count), use_simd_(use_simd) {
    // Iterate the input in order; out_strides_ maps each input dim to the output
    // offset (0 along reduced dims). When the reduced dims are a suffix, each output
    // element is one contiguous run (RMSNorm's MEAN over the hidden dim).
    const int rank = static_cast<int>(in_shape.size());
    in_dims_.assign(in_shape.begin(), in_shape.end());
    out_strides_.assign(rank, 0);
    int64_t stride = 1;
    reduce_count_ = 1;
    for (int d = rank - 1; d >= 0; --d) {
      if (reduced[d]) {
        reduce_count_ *= in_shape[d];
      } else {
        out_strides_[d] = stride;
        stride *= in_shape[d];
      }
    }
    int first_reduced = rank;
    while (first_reduced > 0 && reduced[first_reduced - 1]) --first_reduced;
    suffix_ =
        std::none_of(reduced.begin(), reduced.begin() + first_reduced, [](bool b) { return b; });
  }

  Status Eval(const EvalContext& ctx) override {
    const T* in = In<T>(ctx, 0);
    T* out = Out<T>(ctx, 0);
    if constexpr (std::is_same_v<T, float>) {
      if (suffix_ && use_simd_ && kind_ != ReduceKind::kMax) {
        EvalSimdRows(ctx.pool, in, out);
        return Status::Ok();
      }
    }
    if (suffix_) {
      for (int64_t o = 0; o < out_count_; ++o) {
        const T* row = in + o * reduce_count_;
        if (kind_ == ReduceKind::kMax) {
          T m = std::numeric_limits<T>::lowest();
          for (int64_t j = 0; j < reduce_count_; ++j) m = row[j] > m ? row[j] : m;
          out[o] = m;
        } else {
          Acc s = 0;
          for (int64_t j = 0; j < reduce_count_; ++j) s += row[j];
          out[o] = Finish(s);
        }
      }
      return Status::Ok();
    }
    // General case: accumulate into scratch (one Acc per output), in input order.
    Acc* acc = reinterpret_cast<Acc*>(ctx.scratch);
    T* max = out;
    if (kind_ == ReduceKind::kMax) {
      std::fill(max, max + out_count_, std::numeric_limits<T>::lowest());
    } else {
      std::fill(acc, acc + out_count_, Acc(0));
    }
    const int rank = static_cast<int>(in_dims_.size());
    int64_t index[kMaxRuntimeRank] = {};
    int64_t total = 1;
    for (int64_t d : in_dims_) total *= d;
    int64_t o = 0;
    for (int64_t i = 0; i < total; ++i) {
      if (kind_ == ReduceKind::kMax) {
        max[o] = in[i] > max[o] ? in[i] : max[o];
      } else {
        acc[o] += in[i];
      }
      for (int d = rank - 1; d >= 0; --d) {
        if (++index[d] < in_dims_[d]) {
          o += out_strides_[d];
          break;
        }
        index[d] = 0;
        o -= out_strides_[d] * (in_dims_[d] - 1);
      }
    }
    if (kind_ != ReduceKind::kMax) {
      for (int64_t k = 0; k < out_count_; ++k) out[k] = Finish(acc[k]);
    }
    return Status::Ok();
  }

  bool needs_scratch() const { return !suffix_ && kind_ != ReduceKind::kMax; }

 private:
  // Rows split across the pool once the input is large enough to repay the hand-off.
  void EvalSimdRows(ThreadPool* pool, const float* in, float* out) const {
    const int threads = pool != nullptr ? pool->num_threads() : 1;
    const bool split = threads > 1 && out_count_ > 1 &&
                       out_count_ * reduce_count_ >= kParallelMinElementsCheap;
    const int tasks = split ? static_cast<int>(std::min<int64_t>(threads, out_count_)) : 1;
    const int64_t rows_per_task = (out_count_ + tasks - 1) / tasks;
    auto task = [&](int t) {
      const int64_t end = std::min(out_count_, (t + 1) * rows_per_task);
      for (int64_t o = t * rows_per_task; o < end; ++o) {
        const double s =
            SimdSumToDouble(in + o * reduce_count_, static_cast<size_t>(reduce_count_));
        out[o] = Finish(s);
      }
    };
    if (tasks > 1) {
      pool->ParallelFor(tasks, task);
    } else {
      task(0);
    }
  }

  T Finish(Acc s) const {
    if (kind_ == ReduceKind::kMean) {
      if (reduce_count_ == 0) return T(0);
      return static_cast<T>(s / static_cast<Acc>(reduce_count_));
    }
    if constexpr (std::is_same_v<T, int32_t>) {
      return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(s)));  // wraps
    } else {
      return static_cast<T>(s);
    }
  }

  ReduceKind kind_;
  std::vector<int64_t> in_dims_;
  std::vector<int64_t> out_strides_;
  int64_t out_count_;
  int64_t reduce_count_ = 1;
  bool suffix_ = false;
  bool use_simd_;
};

}  // namespace

PrepareResult PrepareReduce(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 2, 1));
  const ReduceKind kind = ctx.op().code == graph::OpCode::kMean  ? ReduceKind::kMean
                          : ctx.op().code == graph::OpCode::kSum ? ReduceKind::kSum
                                                                 : ReduceKind::kMax;
  if (kind == ReduceKind::kMean) {
    LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(
        0, {graph::DType::kFloat32, graph::DType::kInt8, graph::DType::kInt16}));
  } else {
    LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(0, {graph::DType::kFloat32, graph::DType::kInt32}));
  }
  const graph::DType t = ctx.input(0).dtype;
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, t));
  LITEQ_ASSIGN_OR_RETURN(std::vector<int64_t> axes, ctx.ConstantInts(1, "axes"));
  bool keep_dims = false;
  if (const auto* o = std::get_if<graph::ReducerOptions>(&ctx.op().options))
    keep_dims = o->keep_dims;
  const Shape& in = ctx.input(0).shape;
  const int rank = static_cast<int>(in.size());
  std::vector<bool> reduced(rank, false);
  for (int64_t a : axes) {
    const int axis = NormalizeAxis(a, rank);
    if (axis < 0) {
      return ctx.Error("axis " + std::to_string(a) + " is out of range for input of rank " +
                       std::to_string(rank));
    }
    reduced[axis] = true;
  }
  Shape out;
  for (int d = 0; d < rank; ++d) {
    if (!reduced[d]) {
      out.push_back(in[d]);
    } else if (keep_dims) {
      out.push_back(1);
    }
  }
  if (t == graph::DType::kInt8 || t == graph::DType::kInt16) {
    return PrepareMeanInteger(ctx, reduced, out);
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  const int64_t out_count = NumElements(out);
  if (t == graph::DType::kFloat32) {
    auto k = std::make_unique<ReduceKernel<float>>(kind, in, reduced, out_count,
                                                   !ctx.use_scalar_float_kernels());
    if (k->needs_scratch()) ctx.RequestScratch(static_cast<size_t>(out_count) * sizeof(double));
    return PrepareResult(std::move(k));
  }
  auto k = std::make_unique<ReduceKernel<int32_t>>(kind, in, reduced, out_count, false);
  if (k->needs_scratch()) ctx.RequestScratch(static_cast<size_t>(out_count) * sizeof(int64_t));
  return PrepareResult(std::move(k));
}

}  // namespace liteq::runtime
