// CONCATENATION along `axis` (negative counts from the end) with a fused activation.
#include <cstring>

#include "runtime/kernels/activation.h"
#include "runtime/kernels/copy_kernels.h"
#include "runtime/kernels/kernels.h"

namespace liteq::runtime {
namespace {

class ConcatenationKernel : public Kernel {
 public:
  ConcatenationKernel(int64_t outer, std::vector<size_t> chunk_bytes, graph::Activation act,
                      int64_t out_count)
      : outer_(outer), chunk_bytes_(std::move(chunk_bytes)), act_(act), out_count_(out_count) {}
  Status Eval(const EvalContext& ctx) override {
    auto* out = Out<uint8_t>(ctx, 0);
    for (int64_t o = 0; o < outer_; ++o) {
      for (size_t i = 0; i < chunk_bytes_.size(); ++i) {
        if (chunk_bytes_[i] == 0) continue;
        std::memcpy(out, In<uint8_t>(ctx, i) + o * chunk_bytes_[i], chunk_bytes_[i]);
        out += chunk_bytes_[i];
      }
    }
    if (act_ != graph::Activation::kNone) ApplyActivation(Out<float>(ctx, 0), out_count_, act_);
    return Status::Ok();
  }

 private:
  int64_t outer_;
  std::vector<size_t> chunk_bytes_;  // bytes each input contributes per outer index
  graph::Activation act_;
  int64_t out_count_;
};

}  // namespace

PrepareResult PrepareConcatenation(PrepareContext& ctx) {
  if (ctx.num_inputs() < 1) return ctx.Error("needs at least one input");
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(ctx.num_inputs(), ctx.num_inputs(), 1));
  LITEQ_ASSIGN_OR_RETURN(size_t element_size, ElementSizeForCopy(ctx));
  graph::ConcatenationOptions o;
  if (const auto* p = std::get_if<graph::ConcatenationOptions>(&ctx.op().options)) o = *p;
  const graph::DType t = ctx.input(0).dtype;
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, t));
  LITEQ_RETURN_IF_ERROR(CheckActivation(ctx, o.activation, t));
  if (o.activation != graph::Activation::kNone && t != graph::DType::kFloat32) {
    return ctx.Unsupported("fused activation on a non-float concatenation");
  }
  const Shape& first = ctx.input(0).shape;
  const int rank = static_cast<int>(first.size());
  const int axis = NormalizeAxis(o.axis, rank);
  if (axis < 0)
    return ctx.Error("axis " + std::to_string(o.axis) + " is out of range for rank " +
                     std::to_string(rank));
  Shape out = first;
  out[axis] = 0;
  int64_t inner = 1;
  for (int d = axis + 1; d < rank; ++d) inner *= first[d];
  int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= first[d];
  std::vector<size_t> chunks;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const graph::Tensor& t_i = ctx.input(i);
    if (t_i.dtype != t)
      return ctx.Error("input " + std::to_string(i) + " '" + t_i.name + "' has another dtype");
    bool compatible = static_cast<int>(t_i.shape.size()) == rank;
    for (int d = 0; compatible && d < rank; ++d) compatible = d == axis || t_i.shape[d] == first[d];
    if (!compatible) {
      return ctx.Error("input " + std::to_string(i) + " '" + t_i.name + "' " +
                       ShapeToString(t_i.shape) + " does not match " + ShapeToString(first) +
                       " outside axis " + std::to_string(axis));
    }
    // TFLite concatenation.cc Prepare: int8/int16 inputs must share the output's scale
    // and zero point ("no re-scaling needed for Int8 quantized kernel"); the quantizer
    // propagates one set of parameters (QUANT_SPEC.md).
    if ((t == graph::DType::kInt8 || t == graph::DType::kInt16) &&
        (t_i.quant.scale != ctx.output(0).quant.scale ||
         t_i.quant.zero_point != ctx.output(0).quant.zero_point)) {
      return ctx.Error("input " + std::to_string(i) + " '" + t_i.name +
                       "' has other quantization parameters than the output (TFLite's " +
                       graph::DTypeName(t) + " CONCATENATION does not rescale)");
    }
    out[axis] += t_i.shape[axis];
    chunks.push_back(static_cast<size_t>(t_i.shape[axis] * inner) * element_size);
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  return PrepareResult(std::make_unique<ConcatenationKernel>(outer, std::move(chunks), o.activation,
                                                             NumElements(out)));
}

}  // namespace liteq::runtime
