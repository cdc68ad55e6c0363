#include "runtime/kernels/quantized/xnnpack_compat.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace liteq::runtime::quantized::xnnpack {
namespace {

std::string Str(double v) { return std::to_string(v); }

// XNNPACK's fp32 requantization: clamp in float to the output range less the zero
// point, round half to even (the magic-bias add), add the zero point.
int32_t ClampRoundAdd(float x, float lo_less_zp, float hi_less_zp, int32_t zero_point) {
  // fmaxf/fminf as XNNPACK's math_max_f32/math_min_f32: NaN gives the bound.
  x = std::fmin(std::fmax(x, lo_less_zp), hi_less_zp);
  return RoundHalfEven(x) + zero_point;
}

}  // namespace

int32_t RoundHalfEven(float x) {
  // std::nearbyint rounds in the current mode, which is round-to-nearest-even
  // (liteq never changes it), exactly like lrintf in XNNPACK's parameter setup.
  return static_cast<int32_t>(std::nearbyint(x));
}

void QuantizeFloatToInt8(std::span<const float> input, quant::QuantParams output,
                         std::span<int8_t> result) {
  LITEQ_CHECK(input.size() == result.size());
  const float inverse = 1.0f / output.scale;  // xnn_init_f32_qs8_cvt_scalar_params
  const auto lo = static_cast<float>(-128 - output.zero_point);
  const auto hi = static_cast<float>(127 - output.zero_point);
  for (size_t i = 0; i < input.size(); ++i) {
    result[i] = static_cast<int8_t>(ClampRoundAdd(input[i] * inverse, lo, hi, output.zero_point));
  }
}

Result<RequantizeParams> PrepareRequantize(quant::QuantParams input, quant::QuantParams output) {
  const float ratio = input.scale / output.scale;
  if (!(ratio >= 0x1.0p-8f && ratio <= 0x1.0p+7f)) {
    return UnimplementedError(
        "XNNPACK int8 requantization needs s_in / s_out in [2^-8, 2^7], got " + Str(ratio));
  }
  RequantizeParams p;
  p.multiplier = RoundHalfEven(256.0f * ratio);
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;
  return p;
}

void Requantize(const RequantizeParams& p, std::span<const int8_t> input,
                std::span<int8_t> output) {
  LITEQ_CHECK(input.size() == output.size());
  // qs8-vcvt scalar: bias = (zp_out << 8) - m zp_in + 0x80; out = (bias + x m) >> 8.
  const int32_t bias = p.output_zero_point * 256 - p.multiplier * p.input_zero_point + 0x80;
  for (size_t i = 0; i < input.size(); ++i) {
    const int32_t acc = bias + static_cast<int32_t>(input[i]) * p.multiplier;
    output[i] = static_cast<int8_t>(std::clamp(acc >> 8, -128, 127));  // arithmetic shift
  }
}

Result<AddParams> PrepareAdd(quant::QuantParams a, quant::QuantParams b, quant::QuantParams output,
                             ActivationRange activation, bool subtract) {
  // SUB is an ADD with b's scale negated (binary-elementwise-nd.c, sign_b).
  const float a_ratio = a.scale / output.scale;
  const float b_ratio = (subtract ? -b.scale : b.scale) / output.scale;
  for (float r : {a_ratio, b_ratio}) {
    if (!(std::abs(r) >= 0x1.0p-10f && std::abs(r) < 0x1.0p+8f)) {
      return UnimplementedError(
          "XNNPACK int8 ADD needs input / output scales in [2^-10, 2^8), got " + Str(r));
    }
  }
  const float max_ratio = std::max(std::abs(a_ratio), std::abs(b_ratio));
  int exponent = 0;
  std::frexp(max_ratio, &exponent);  // max_ratio = f * 2^exponent, f in [0.5, 1)
  AddParams p;
  p.shift = 20 - (exponent - 1);  // in [12, 30]
  auto multiplier = [&](float r) {
    const int32_t m = RoundHalfEven(std::ldexp(std::abs(r), p.shift));  // exact scaling
    return std::signbit(r) ? -m : m;
  };
  p.a_multiplier = multiplier(a_ratio);
  p.b_multiplier = multiplier(b_ratio);
  p.bias =
      (int32_t{1} << (p.shift - 1)) - p.a_multiplier * a.zero_point - p.b_multiplier * b.zero_point;
  p.output_zero_point = output.zero_point;
  p.activation = activation;
  return p;
}

void Add(const AddParams& p, const BroadcastPlan& plan, std::span<const int8_t> a,
         std::span<const int8_t> b, std::span<int8_t> output) {
  LITEQ_CHECK(a.size() == static_cast<size_t>(plan.input1_size));
  LITEQ_CHECK(b.size() == static_cast<size_t>(plan.input2_size));
  LITEQ_CHECK(output.size() == static_cast<size_t>(plan.output_size));
  ForEachBroadcastIndex(plan, [&](int64_t i1, int64_t i2, int64_t o) {
    // |m| <= 2^21, |x| <= 128: the sum stays inside int32 as in XNNPACK.
    const int32_t acc = p.bias + static_cast<int32_t>(a[static_cast<size_t>(i1)]) * p.a_multiplier +
                        static_cast<int32_t>(b[static_cast<size_t>(i2)]) * p.b_multiplier;
    const int32_t out = (acc >> p.shift) + p.output_zero_point;  // arithmetic shift: floor
    output[static_cast<size_t>(o)] =
        static_cast<int8_t>(std::clamp(out, p.activation.min, p.activation.max));
  });
}

Result<MulParams> PrepareMul(quant::QuantParams a, quant::QuantParams b, quant::QuantParams output,
                             ActivationRange activation) {
  const float product_scale = a.scale * b.scale;
  const float ratio = product_scale / output.scale;
  if (!(ratio >= 0x1.0p-16f && ratio < 0x1.0p+8f)) {
    return UnimplementedError("XNNPACK int8 MUL needs s_a s_b / s_out in [2^-16, 2^8), got " +
                              Str(ratio));
  }
  return MulParams{a.zero_point, b.zero_point, ratio, output.zero_point, activation};
}

void Mul(const MulParams& p, const BroadcastPlan& plan, std::span<const int8_t> a,
         std::span<const int8_t> b, std::span<int8_t> output) {
  LITEQ_CHECK(a.size() == static_cast<size_t>(plan.input1_size));
  LITEQ_CHECK(b.size() == static_cast<size_t>(plan.input2_size));
  LITEQ_CHECK(output.size() == static_cast<size_t>(plan.output_size));
  const auto lo = static_cast<float>(p.activation.min - p.output_zero_point);
  const auto hi = static_cast<float>(p.activation.max - p.output_zero_point);
  ForEachBroadcastIndex(plan, [&](int64_t i1, int64_t i2, int64_t o) {
    const int32_t product = (a[static_cast<size_t>(i1)] - p.a_zero_point) *
                            (b[static_cast<size_t>(i2)] - p.b_zero_point);
    output[static_cast<size_t>(o)] = static_cast<int8_t>(
        ClampRoundAdd(static_cast<float>(product) * p.scale, lo, hi, p.output_zero_point));
  });
}

Result<FullyConnectedParams> PrepareFullyConnected(quant::QuantParams input,
                                                   std::span<const float> weight_scales,
                                                   int64_t out_channels, quant::QuantParams output,
                                                   ActivationRange activation) {
  if (weight_scales.size() != 1 && weight_scales.size() != static_cast<size_t>(out_channels)) {
    return InvalidArgumentError("FULLY_CONNECTED: " + std::to_string(weight_scales.size()) +
                                " weight scales for " + std::to_string(out_channels) + " channels");
  }
  FullyConnectedParams p;
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;
  p.activation = activation;
  for (int64_t c = 0; c < out_channels; ++c) {
    const float w = weight_scales[weight_scales.size() == 1 ? 0 : static_cast<size_t>(c)];
    const float scale = input.scale * w / output.scale;  // fully-connected-nc.c, in float
    if (!(scale < 256.0f)) {
      return UnimplementedError("XNNPACK FULLY_CONNECTED requantization scale " + Str(scale) +
                                " is >= 256");
    }
    p.scales.push_back(scale);
  }
  return p;
}

void FullyConnected(const FullyConnectedParams& p, const FullyConnectedShape& shape,
                    std::span<const int8_t> input, std::span<const int8_t> weights,
                    std::span<const int32_t> bias, std::span<int8_t> output) {
  LITEQ_CHECK(input.size() == static_cast<size_t>(shape.batches * shape.depth));
  LITEQ_CHECK(weights.size() == static_cast<size_t>(shape.out_channels * shape.depth));
  LITEQ_CHECK(bias.empty() || bias.size() == static_cast<size_t>(shape.out_channels));
  LITEQ_CHECK(output.size() == static_cast<size_t>(shape.batches * shape.out_channels));
  LITEQ_CHECK(p.scales.size() == static_cast<size_t>(shape.out_channels));
  const auto lo = static_cast<float>(p.activation.min - p.output_zero_point);
  const auto hi = static_cast<float>(p.activation.max - p.output_zero_point);
  for (int64_t r = 0; r < shape.batches; ++r) {
    const int8_t* x = input.data() + r * shape.depth;
    for (int64_t c = 0; c < shape.out_channels; ++c) {
      const int8_t* w = weights.data() + c * shape.depth;
      // XNNPACK folds -zp_in * sum(w) into the packed bias; the int32 sum is the same
      // (modulo 2^32 on absurd depths, computed without UB in int64).
      int64_t sum = bias.empty() ? 0 : bias[static_cast<size_t>(c)];
      for (int64_t d = 0; d < shape.depth; ++d) {
        sum += (static_cast<int32_t>(x[d]) - p.input_zero_point) * static_cast<int32_t>(w[d]);
      }
      const auto acc = static_cast<int32_t>(static_cast<uint32_t>(sum));
      const float scaled = static_cast<float>(acc) * p.scales[static_cast<size_t>(c)];
      output[static_cast<size_t>(r * shape.out_channels + c)] =
          static_cast<int8_t>(ClampRoundAdd(scaled, lo, hi, p.output_zero_point));
    }
  }
}

Result<BatchMatMulParams> PrepareBatchMatMul(BatchMatMulInt8Params layout, quant::QuantParams lhs,
                                             quant::QuantParams rhs, quant::QuantParams output,
                                             bool constant_rhs) {
  if (rhs.zero_point != 0) {
    return UnimplementedError("XNNPACK int8 BATCH_MATMUL needs rhs zero point 0");
  }
  const float scale = lhs.scale * rhs.scale / output.scale;
  if (constant_rhs && !(scale > 0.0f && scale <= 255.0f)) {
    return UnimplementedError("XNNPACK BATCH_MATMUL requantization scale " + Str(scale) +
                              " is outside (0, 255]");
  }
  return BatchMatMulParams{std::move(layout), scale};
}

void BatchMatMul(const BatchMatMulParams& params, std::span<const int8_t> lhs,
                 std::span<const int8_t> rhs, std::span<int8_t> output) {
  const BatchMatMulInt8Params& p = params.layout;
  const auto lo = static_cast<float>(-128 - p.output_offset);
  const auto hi = static_cast<float>(127 - p.output_offset);
  ForEachBatchMatMulSum<int8_t>(p, lhs, rhs, output, [&](int64_t sum) {
    const auto acc = static_cast<int32_t>(static_cast<uint32_t>(sum));
    return static_cast<int8_t>(
        ClampRoundAdd(static_cast<float>(acc) * params.scale, lo, hi, p.output_offset));
  });
}

quant::QuantParams QuantizeDynamicRow(std::span<const float> row, std::span<int8_t> quantized) {
  LITEQ_CHECK(row.size() == quantized.size());
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  for (float v : row) {
    min = std::fmin(min, v);
    max = std::fmax(max, v);
  }
  // xnn_qd8_asymmetric_quantization_params: the range widened to include 0, the zero
  // point nudged from whichever end has the smaller error, all in float.
  const float qmin = -128.0f, qmax = 127.0f;
  const float rmin = std::fmin(0.0f, min);
  const float rmax = std::fmax(0.0f, max);
  const float inverse = rmin == rmax ? 1.0f : (qmax - qmin) / (rmax - rmin);
  const float descaled_min = rmin * inverse;
  const float descaled_max = rmax * inverse;
  const float zp_from_min_error = qmin + descaled_min;
  const float zp_from_max_error = qmax + descaled_max;
  float zp = zp_from_min_error + zp_from_max_error > 0 ? qmin - descaled_min : qmax - descaled_max;
  zp = std::fmin(std::fmax(zp, qmin), qmax);
  const int32_t zero_point = RoundHalfEven(zp);
  // The row through f32-qs8-vcvt with scale `inverse` (xnn_compute_f32_qx8_convert).
  const auto lo = static_cast<float>(-128 - zero_point);
  const auto hi = static_cast<float>(127 - zero_point);
  for (size_t i = 0; i < row.size(); ++i) {
    quantized[i] = static_cast<int8_t>(ClampRoundAdd(row[i] * inverse, lo, hi, zero_point));
  }
  return {1.0f / inverse, zero_point};
}

void HybridFullyConnected(const HybridParams& params, const FullyConnectedShape& shape,
                          std::span<const float> input, std::span<const int8_t> weights,
                          std::span<const float> bias, std::span<float> output,
                          std::span<int8_t> scratch) {
  LITEQ_CHECK(input.size() == static_cast<size_t>(shape.batches * shape.depth));
  LITEQ_CHECK(weights.size() == static_cast<size_t>(shape.out_channels * shape.depth));
  LITEQ_CHECK(bias.empty() || bias.size() == static_cast<size_t>(shape.out_channels));
  LITEQ_CHECK(output.size() == static_cast<size_t>(shape.batches * shape.out_channels));
  LITEQ_CHECK(scratch.size() >= static_cast<size_t>(shape.depth));
  LITEQ_CHECK(params.weight_scales.size() == static_cast<size_t>(shape.out_channels));
  const auto depth = static_cast<size_t>(shape.depth);
  for (int64_t r = 0; r < shape.batches; ++r) {
    std::span<int8_t> q = scratch.first(depth);
    const quant::QuantParams row = QuantizeDynamicRow(input.subspan(r * depth, depth), q);
    for (int64_t c = 0; c < shape.out_channels; ++c) {
      const int8_t* w = weights.data() + c * shape.depth;
      int64_t sum = 0;
      for (size_t d = 0; d < depth; ++d) {
        sum += (static_cast<int32_t>(q[d]) - row.zero_point) * static_cast<int32_t>(w[d]);
      }
      const auto acc = static_cast<int32_t>(static_cast<uint32_t>(sum));
      // qd8-f32-qc8w gemm: (acc * row scale) * channel scale + bias, three float steps.
      float out = static_cast<float>(acc) * row.scale;
      out *= params.weight_scales[static_cast<size_t>(c)];
      out += bias.empty() ? 0.0f : bias[static_cast<size_t>(c)];
      out = std::fmin(std::fmax(out, params.activation_min), params.activation_max);
      output[static_cast<size_t>(r * shape.out_channels + c)] = out;
    }
  }
}

}  // namespace liteq::runtime::quantized::xnnpack
