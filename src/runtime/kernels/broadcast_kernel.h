// Elementwise kernels over numpy-broadcast inputs: one template instantiated per op and
// dtype, with the broadcast plan computed at Prepare. Float ops that name a SIMD
// form (F::kSimdOp) run it and split the output across the thread pool; the SIMD
// binary ops are bit-identical to F::Apply, so only speed changes.
#ifndef LITEQ_RUNTIME_KERNELS_BROADCAST_KERNEL_H_
#define LITEQ_RUNTIME_KERNELS_BROADCAST_KERNEL_H_

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "runtime/kernels/activation.h"
#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/float_math_simd.h"
#include "runtime/kernels/kernel.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {

// TFLite's broadcasting elementwise kernels stop at rank 6; matching that keeps liteq
// from accepting graphs the official runtime rejects.
inline constexpr int kMaxBroadcastRank = 6;

// Output shape of broadcasting the op's inputs [0, n), checked against the declared one.
Result<BroadcastPlan> PrepareBroadcast(const PrepareContext& ctx, size_t n);

// Calls row(out_offset, in_offsets, count) for the runs of output elements [begin,
// end) that lie in one plan row (ForEachBroadcastRow restricted to a range, so a
// thread can take any slice of the output, even part of one long row).
template <typename RowFn>
void ForEachBroadcastSpan(const BroadcastPlan& plan, int64_t begin, int64_t end, RowFn&& row) {
  const int rank = static_cast<int>(plan.dims.size());
  const int64_t inner = plan.inner();
  if (inner <= 0 || begin >= end) return;
  std::array<int64_t, BroadcastPlan::kMaxInputs> base{};  // input offsets of the row start
  std::array<int64_t, BroadcastPlan::kMaxInputs> offs{};
  std::array<int64_t, kMaxRuntimeRank> idx{};
  int64_t r = begin / inner;
  int64_t j = begin % inner;
  for (int d = rank - 2; d >= 0; --d) {
    idx[d] = r % plan.dims[d];
    r /= plan.dims[d];
    for (int k = 0; k < plan.num_inputs; ++k) base[k] += idx[d] * plan.strides[k][d];
  }
  int64_t o = begin;
  while (true) {
    const int64_t count = std::min(inner - j, end - o);
    for (int k = 0; k < plan.num_inputs; ++k) offs[k] = base[k] + j * plan.inner_stride(k);
    row(o, offs.data(), count);
    o += count;
    if (o >= end) return;
    j = 0;
    for (int d = rank - 2; d >= 0; --d) {
      if (++idx[d] < plan.dims[d]) {
        for (int k = 0; k < plan.num_inputs; ++k) base[k] += plan.strides[k][d];
        break;
      }
      idx[d] = 0;
      for (int k = 0; k < plan.num_inputs; ++k) base[k] -= plan.strides[k][d] * (plan.dims[d] - 1);
    }
  }
}

// Fused activation on float data with the SIMD ops (same semantics as the scalar
// ApplyActivation; TANH within kTanhSimdMaxRelError).
inline void ApplyActivationSimd(float* data, int64_t n, graph::Activation act) {
  FloatUnaryOp op;
  switch (act) {
    case graph::Activation::kNone:
      return;
    case graph::Activation::kRelu:
      op = FloatUnaryOp::kFusedRelu;
      break;
    case graph::Activation::kReluN1To1:
      op = FloatUnaryOp::kFusedReluN1To1;
      break;
    case graph::Activation::kRelu6:
      op = FloatUnaryOp::kFusedRelu6;
      break;
    case graph::Activation::kTanh:
      op = FloatUnaryOp::kTanh;
      break;
    default:
      return ApplyActivation(data, n, act);
  }
  SimdFloatUnary(op, data, data, static_cast<size_t>(n));
}

template <typename F>
concept HasSimdFloatOp = requires { F::kSimdOp; };

// Binary op `F` on inputs of type T writing R. F provides
//   static R Apply(T a, T b);
//   static constexpr bool kChecksRhs;  // if true: static const char* CheckRhs(T b)
//   returns nullptr or the reason b is invalid (integer division by zero...).
//   optionally static constexpr FloatBinaryOp kSimdOp, its SIMD form for floats.
template <typename T, typename R, typename F>
class BinaryKernel : public Kernel {
 public:
  static constexpr bool kHasSimd =
      std::is_same_v<T, float> && std::is_same_v<R, float> && HasSimdFloatOp<F>;

  BinaryKernel(BroadcastPlan plan, graph::Activation act, int64_t rhs_count, int64_t out_count,
               bool use_simd = false)
      : plan_(std::move(plan)),
        act_(act),
        rhs_count_(rhs_count),
        out_count_(out_count),
        use_simd_(use_simd && kHasSimd) {}

  Status Eval(const EvalContext& ctx) override {
    const T* a = In<T>(ctx, 0);
    const T* b = In<T>(ctx, 1);
    R* out = Out<R>(ctx, 0);
    if constexpr (kHasSimd) {
      if (use_simd_) {
        EvalSimd(ctx.pool, a, b, out);
        return Status::Ok();
      }
    }
    if constexpr (F::kChecksRhs) {
      for (int64_t i = 0; i < rhs_count_; ++i) {
        if (const char* why = F::CheckRhs(b[i])) {
          return EvalError(StatusCode::kInvalidArgument,
                           std::string(why) + " at element " + std::to_string(i) + " of input 1");
        }
      }
    }
    const int64_t sa = plan_.inner_stride(0), sb = plan_.inner_stride(1);
    ForEachBroadcastRow(plan_, [&](int64_t o, const int64_t* offs, int64_t n) {
      const T* pa = a + offs[0];
      const T* pb = b + offs[1];
      R* po = out + o;
      if (sa == 1 && sb == 1) {
        for (int64_t j = 0; j < n; ++j) po[j] = F::Apply(pa[j], pb[j]);
      } else if (sa == 1) {
        const T vb = pb[0];
        for (int64_t j = 0; j < n; ++j) po[j] = F::Apply(pa[j], vb);
      } else if (sb == 1) {
        const T va = pa[0];
        for (int64_t j = 0; j < n; ++j) po[j] = F::Apply(va, pb[j]);
      } else {
        const R v = F::Apply(pa[0], pb[0]);
        for (int64_t j = 0; j < n; ++j) po[j] = v;
      }
    });
    if constexpr (std::is_same_v<R, float> || std::is_same_v<R, int32_t>) {
      ApplyActivation(out, out_count_, act_);
    }
    return Status::Ok();
  }

 private:
  // Float ops with a SIMD form (no rhs check: float DIV by zero is IEEE inf/NaN).
  void EvalSimd(ThreadPool* pool, const float* a, const float* b, float* out) const {
    const int64_t sa = plan_.inner_stride(0), sb = plan_.inner_stride(1);
    const BinaryOperands form = sa == 1 && sb == 1 ? BinaryOperands::kVectorVector
                                : sa == 1          ? BinaryOperands::kVectorScalar
                                                   : BinaryOperands::kScalarVector;
    // A fused TANH makes the op as costly as the transcendental unary ops.
    const int64_t min_parallel = act_ == graph::Activation::kTanh
                                     ? kParallelMinElementsTranscendental
                                     : kParallelMinElementsCheap;
    ParallelElementwise(pool, out_count_, min_parallel, [&](int64_t begin, int64_t end) {
      ForEachBroadcastSpan(plan_, begin, end, [&](int64_t o, const int64_t* offs, int64_t n) {
        if (sa == 0 && sb == 0) {
          std::fill(out + o, out + o + n, F::Apply(a[offs[0]], b[offs[1]]));
        } else {
          SimdFloatBinary(F::kSimdOp, form, a + offs[0], b + offs[1], out + o,
                          static_cast<size_t>(n));
        }
      });
      ApplyActivationSimd(out + begin, end - begin, act_);
    });
  }

  BroadcastPlan plan_;
  graph::Activation act_;
  int64_t rhs_count_;
  int64_t out_count_;
  bool use_simd_;
};

template <typename T, typename R, typename F>
Result<std::unique_ptr<Kernel>> MakeBinaryKernel(const PrepareContext& ctx, graph::Activation act) {
  LITEQ_ASSIGN_OR_RETURN(BroadcastPlan plan, PrepareBroadcast(ctx, 2));
  return std::unique_ptr<Kernel>(new BinaryKernel<T, R, F>(
      std::move(plan), act, NumElements(ctx.input(1).shape), NumElements(ctx.output(0).shape),
      /*use_simd=*/!ctx.use_scalar_float_kernels()));
}

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_BROADCAST_KERNEL_H_
