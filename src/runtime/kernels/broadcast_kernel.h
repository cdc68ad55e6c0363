// Elementwise kernels over numpy-broadcast inputs: one template instantiated per op and
// dtype, with the broadcast plan computed at Prepare.
#ifndef LITEQ_RUNTIME_KERNELS_BROADCAST_KERNEL_H_
#define LITEQ_RUNTIME_KERNELS_BROADCAST_KERNEL_H_

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "runtime/kernels/activation.h"
#include "runtime/kernels/kernel.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {

// TFLite's broadcasting elementwise kernels stop at rank 6; matching that keeps liteq
// from accepting graphs the official runtime rejects.
inline constexpr int kMaxBroadcastRank = 6;

// Output shape of broadcasting the op's inputs [0, n), checked against the declared one.
Result<BroadcastPlan> PrepareBroadcast(const PrepareContext& ctx, size_t n);

// Binary op `F` on inputs of type T writing R. F provides
//   static R Apply(T a, T b);
//   static constexpr bool kChecksRhs;  // if true: static const char* CheckRhs(T b)
//   returns nullptr or the reason b is invalid (integer division by zero...).
template <typename T, typename R, typename F>
class BinaryKernel : public Kernel {
 public:
  BinaryKernel(BroadcastPlan plan, graph::Activation act, int64_t rhs_count, int64_t out_count)
      : plan_(std::move(plan)), act_(act), rhs_count_(rhs_count), out_count_(out_count) {}

  Status Eval(const EvalContext& ctx) override {
    const T* a = In<T>(ctx, 0);
    const T* b = In<T>(ctx, 1);
    R* out = Out<R>(ctx, 0);
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
  BroadcastPlan plan_;
  graph::Activation act_;
  int64_t rhs_count_;
  int64_t out_count_;
};

template <typename T, typename R, typename F>
Result<std::unique_ptr<Kernel>> MakeBinaryKernel(const PrepareContext& ctx, graph::Activation act) {
  LITEQ_ASSIGN_OR_RETURN(BroadcastPlan plan, PrepareBroadcast(ctx, 2));
  return std::unique_ptr<Kernel>(new BinaryKernel<T, R, F>(
      std::move(plan), act, NumElements(ctx.input(1).shape), NumElements(ctx.output(0).shape)));
}

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_BROADCAST_KERNEL_H_
