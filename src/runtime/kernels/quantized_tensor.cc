#include "runtime/kernels/quantized_tensor.h"

#include <cmath>

namespace liteq::runtime {

std::string InputLabel(const PrepareContext& ctx, size_t i) {
  return "input " + std::to_string(i) + " '" + ctx.input(i).name + "'";
}

std::string OutputLabel(const PrepareContext& ctx, size_t i) {
  return "output " + std::to_string(i) + " '" + ctx.output(i).name + "'";
}

Result<quant::QuantParams> PerTensorParams(const PrepareContext& ctx, const graph::Tensor& t,
                                           const std::string& what) {
  const graph::QuantParams& q = t.quant;
  if (q.empty()) return ctx.Error(what + " has no quantization parameters");
  if (q.scale.size() != 1) {
    return ctx.Unsupported(what + " has " + std::to_string(q.scale.size()) +
                           " scales; this kernel takes per-tensor quantization");
  }
  if (q.zero_point.size() > 1) {
    return ctx.Error(what + " has " + std::to_string(q.zero_point.size()) + " zero points");
  }
  const float scale = q.scale[0];
  const int64_t zp = q.zero_point.empty() ? 0 : q.zero_point[0];
  if (!std::isfinite(scale) || !(scale > 1e-30f)) {
    return ctx.Error(what + " has scale " + std::to_string(scale) +
                     " (must be positive and finite)");
  }
  if (t.dtype == graph::DType::kInt8 && (zp < -128 || zp > 127)) {
    return ctx.Error(what + " has zero point " + std::to_string(zp) + " outside int8");
  }
  if (t.dtype == graph::DType::kInt16 && zp != 0) {
    return ctx.Unsupported(what + " is int16 with zero point " + std::to_string(zp) +
                           " (16-bit activations are symmetric, zero point 0)");
  }
  return quant::QuantParams{scale, static_cast<int32_t>(zp)};
}

Result<std::span<const float>> SymmetricWeightScales(const PrepareContext& ctx, size_t input,
                                                     int64_t channels, int32_t axis) {
  const graph::Tensor& w = ctx.input(input);
  const std::string what = InputLabel(ctx, input);
  const graph::QuantParams& q = w.quant;
  if (q.empty()) return ctx.Error(what + " has no quantization parameters");
  if (q.block_size != 0) return ctx.Unsupported(what + " is blockwise quantized");
  if (q.per_axis()) {
    if (q.quantized_dimension != axis || static_cast<int64_t>(q.scale.size()) != channels) {
      return ctx.Error(what + " has " + std::to_string(q.scale.size()) +
                       " scales along quantized_dimension " +
                       std::to_string(q.quantized_dimension) + "; expected 1 or " +
                       std::to_string(channels) + " along dimension " + std::to_string(axis));
    }
  }
  if (!q.zero_point.empty() && q.zero_point.size() != q.scale.size()) {
    return ctx.Error(what + " has " + std::to_string(q.scale.size()) + " scales but " +
                     std::to_string(q.zero_point.size()) + " zero points");
  }
  for (int64_t zp : q.zero_point) {
    if (zp != 0) {
      return ctx.Unsupported(what + " has zero point " + std::to_string(zp) +
                             " (weights are symmetric, zero point 0)");
    }
  }
  for (float s : q.scale) {
    if (!std::isfinite(s) || !(s > 0.0f)) {
      return ctx.Error(what + " has scale " + std::to_string(s) + " (must be positive and finite)");
    }
  }
  return q.scale.span();
}

Result<quantized::FusedActivation> ToFusedActivation(const PrepareContext& ctx,
                                                     graph::Activation act) {
  switch (act) {
    case graph::Activation::kNone:
      return quantized::FusedActivation::kNone;
    case graph::Activation::kRelu:
      return quantized::FusedActivation::kRelu;
    case graph::Activation::kReluN1To1:
      return quantized::FusedActivation::kReluN1To1;
    case graph::Activation::kRelu6:
      return quantized::FusedActivation::kRelu6;
    case graph::Activation::kTanh:
      break;
  }
  return ctx.Unsupported("fused activation " + std::to_string(static_cast<int>(act)) +
                         " on a quantized op");
}

std::vector<int64_t> Dims64(const std::vector<int32_t>& shape) {
  return std::vector<int64_t>(shape.begin(), shape.end());
}

}  // namespace liteq::runtime
