// Shared by the interpreter's integer kernels: reading and validating the
// quantization parameters of a tensor at Prepare (QUANT_SPEC.md "Representation"),
// and mapping graph enums onto the reference kernels' (runtime/kernels/quantized).
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_TENSOR_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_TENSOR_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "runtime/kernels/kernel.h"
#include "runtime/kernels/quantized/broadcast.h"
#include "runtime/kernels/quantized/elementwise_int.h"
#include "runtime/kernels/quantized/lut_int.h"
#include "runtime/kernels/quantized/quantized_common.h"

namespace liteq::runtime {

inline bool IsQuantizedInt(graph::DType t) {
  return t == graph::DType::kInt8 || t == graph::DType::kInt16;
}

inline quantized::IntType ToIntType(graph::DType t) {
  return t == graph::DType::kInt16 ? quantized::IntType::kInt16 : quantized::IntType::kInt8;
}

// "input 0 'x'" / "output 0 'y'" for error messages.
std::string InputLabel(const PrepareContext& ctx, size_t i);
std::string OutputLabel(const PrepareContext& ctx, size_t i);

// The per-tensor (scale, zero point) of an int8/int16 tensor: exactly one scale,
// finite and positive, a zero point inside the type (0 for int16, which TFLite's
// 16-bit kernels require). `what` names the tensor in errors.
Result<quant::QuantParams> PerTensorParams(const PrepareContext& ctx, const graph::Tensor& t,
                                           const std::string& what);
inline Result<quant::QuantParams> InputParams(const PrepareContext& ctx, size_t i) {
  return PerTensorParams(ctx, ctx.input(i), InputLabel(ctx, i));
}
inline Result<quant::QuantParams> OutputParams(const PrepareContext& ctx, size_t i) {
  return PerTensorParams(ctx, ctx.output(i), OutputLabel(ctx, i));
}

// Scales of symmetric int8 weights: one (per tensor) or `channels` along
// quantized_dimension `axis`; every zero point must be 0. The tensor's own vector (the
// model's storage, which outlives the interpreter's kernels), not a copy: kernels
// keep referring to it instead of holding one more copy per signature (SmolLM2-135M
// dynamic_int8: 1.2 MB, issue #6).
Result<std::span<const float>> SymmetricWeightScales(const PrepareContext& ctx, size_t input,
                                                     int64_t channels, int32_t axis);

// Fused activations the integer kernels take (TANH and unknown values are rejected).
Result<quantized::FusedActivation> ToFusedActivation(const PrepareContext& ctx,
                                                     graph::Activation act);

// The parameters an integer MUL / ADD or SUB op's kernel computes with (after the
// checks PrepareArithmeticInteger makes), for fused kernels that run the op's
// arithmetic on rows of their own (binary_quantized.cc).
Result<quantized::MulParams> PrepareIntegerMulParams(PrepareContext& ctx);
Result<quantized::AddSubParams> PrepareIntegerAddSubParams(PrepareContext& ctx);

// The 256-entry table an int8 LOGISTIC / TANH / GELU op's kernel looks values up in,
// and a kernel looking `count` elements up in a table (unary_quantized.cc).
Result<quantized::Int8Lut> PrepareInt8LutOfOp(PrepareContext& ctx);
std::unique_ptr<Kernel> MakeInt8LutKernel(const quantized::Int8Lut& lut, size_t count);

// A failed reference Prepare (its message names the op family, not the tensors)
// becomes an error with this op's label.
inline Status WithOpLabel(const PrepareContext& ctx, const Status& s) {
  return ctx.Error(s.message());
}

std::vector<int64_t> Dims64(const std::vector<int32_t>& shape);

// A binary integer op over the numpy broadcast of its two inputs, computed by
// Fn(params, plan, input1, input2, output) (quantized/elementwise_int.h for TFLite's
// arithmetic, quantized/xnnpack_compat.h for XNNPACK's).
template <typename T, typename Params,
          void (*Fn)(const Params&, const quantized::BroadcastPlan&, std::span<const T>,
                     std::span<const T>, std::span<T>)>
class BroadcastBinaryIntKernel : public Kernel {
 public:
  BroadcastBinaryIntKernel(Params params, quantized::BroadcastPlan plan)
      : params_(params), plan_(std::move(plan)) {}
  Status Eval(const EvalContext& ctx) override {
    Fn(params_, plan_, {In<T>(ctx, 0), static_cast<size_t>(plan_.input1_size)},
       {In<T>(ctx, 1), static_cast<size_t>(plan_.input2_size)},
       {Out<T>(ctx, 0), static_cast<size_t>(plan_.output_size)});
    return Status::Ok();
  }

 private:
  Params params_;
  quantized::BroadcastPlan plan_;
};

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_TENSOR_H_
