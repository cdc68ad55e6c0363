#include "runtime/kernels/quantized/hybrid_fully_connected.h"

#include <algorithm>
#include <cmath>

namespace liteq::runtime::quantized {
namespace {

// NaN (from a NaN or infinite input) becomes 0 instead of an undefined conversion.
int8_t SaturateToInt8(float rounded, float lo, float hi) {
  if (std::isnan(rounded)) return 0;
  return static_cast<int8_t>(std::clamp(rounded, lo, hi));
}

quant::QuantParams SymmetricRow(std::span<const float> row, std::span<int8_t> q) {
  float range = 0.0f;
  for (float v : row) range = std::max(range, std::abs(v));
  if (range == 0.0f) {
    std::fill(q.begin(), q.end(), int8_t{0});
    return {1.0f, 0};
  }
  const float inverse = 127.0f / range;
  for (size_t i = 0; i < row.size(); ++i) {
    q[i] = SaturateToInt8(std::round(row[i] * inverse), -127.0f, 127.0f);
  }
  return {range / 127.0f, 0};
}

quant::QuantParams AsymmetricRow(std::span<const float> row, std::span<int8_t> q) {
  float lo = 0.0f;
  float hi = 0.0f;
  for (float v : row) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (lo == hi) {
    std::fill(q.begin(), q.end(), int8_t{0});
    return {1.0f, 0};
  }
  const quant::QuantParams params = AsymmetricHybridRowParams(lo, hi);
  const float inverse = 1.0f / params.scale;
  for (size_t i = 0; i < row.size(); ++i) {
    q[i] = SaturateToInt8(std::round(static_cast<float>(params.zero_point) + row[i] * inverse),
                          -128.0f, 127.0f);
  }
  return params;
}

}  // namespace

quant::QuantParams AsymmetricHybridRowParams(float lo, float hi) {
  // TFLite AsymmetricQuantizeFloats: same zero-point choice as
  // ChooseQuantizationParams, but the boundary cases compare with <= / >=.
  const double qmin = -128.0;
  const double qmax = 127.0;
  const double rmin = lo;
  const double rmax = hi;
  const double scale = (rmax - rmin) / (qmax - qmin);
  const double zp_from_min = qmin - rmin / scale;
  const double zp_from_max = qmax - rmax / scale;
  const double err_min = std::abs(qmin) + std::abs(rmin / scale);
  const double err_max = std::abs(qmax) + std::abs(rmax / scale);
  const double zp_double = err_min < err_max ? zp_from_min : zp_from_max;
  int32_t zp;
  if (zp_double <= qmin) {
    zp = -128;
  } else if (zp_double >= qmax) {
    zp = 127;
  } else {
    zp = static_cast<int32_t>(std::round(zp_double));
  }
  return {static_cast<float>(scale), zp};
}

Result<HybridFullyConnectedParams> PrepareHybridFullyConnected(std::span<const float> weight_scales,
                                                               bool asymmetric_inputs,
                                                               FusedActivation activation) {
  if (weight_scales.empty()) {
    return InvalidArgumentError("hybrid FULLY_CONNECTED weights have no quantization scale");
  }
  HybridFullyConnectedParams params;
  for (size_t c = 0; c < weight_scales.size(); ++c) {
    // (The message is only built for a bad scale: an output head has 10^5 channels.)
    if (!IsValidScale(weight_scales[c])) {
      return CheckScale(weight_scales[c], "FULLY_CONNECTED weights channel " + std::to_string(c));
    }
  }
  params.weight_scales = weight_scales;
  params.asymmetric_inputs = asymmetric_inputs;
  FloatActivationRange(activation, &params.activation_min, &params.activation_max);
  return params;
}

quant::QuantParams QuantizeHybridRow(std::span<const float> row, bool asymmetric,
                                     std::span<int8_t> quantized) {
  LITEQ_CHECK(quantized.size() >= row.size());
  return asymmetric ? AsymmetricRow(row, quantized) : SymmetricRow(row, quantized);
}

void HybridFullyConnected(const HybridFullyConnectedParams& params,
                          const FullyConnectedShape& shape, std::span<const float> input,
                          std::span<const int8_t> weights, std::span<const float> bias,
                          std::span<float> output, std::span<int8_t> scratch) {
  LITEQ_CHECK(input.size() == static_cast<size_t>(shape.batches * shape.depth));
  LITEQ_CHECK(weights.size() == static_cast<size_t>(shape.out_channels * shape.depth));
  LITEQ_CHECK(bias.empty() || bias.size() == static_cast<size_t>(shape.out_channels));
  LITEQ_CHECK(output.size() == static_cast<size_t>(shape.batches * shape.out_channels));
  LITEQ_CHECK(scratch.size() >= static_cast<size_t>(shape.depth));
  LITEQ_CHECK(params.weight_scales.size() == 1 ||
              params.weight_scales.size() == static_cast<size_t>(shape.out_channels));
  const bool per_channel = params.weight_scales.size() > 1;
  const auto depth = static_cast<size_t>(shape.depth);
  for (int64_t b = 0; b < shape.batches; ++b) {
    const quant::QuantParams row = QuantizeHybridRow(
        input.subspan(static_cast<size_t>(b) * depth, depth), params.asymmetric_inputs, scratch);
    for (int64_t c = 0; c < shape.out_channels; ++c) {
      const int8_t* w = weights.data() + c * shape.depth;
      int32_t dot = 0;
      int32_t row_sum = 0;
      for (size_t d = 0; d < depth; ++d) {
        dot += static_cast<int32_t>(w[d]) * static_cast<int32_t>(scratch[d]);
        row_sum += w[d];
      }
      // TFLite subtracts the input offset through the weight row sums.
      dot -= row_sum * row.zero_point;
      const float scale = row.scale * params.weight_scales[per_channel ? c : 0];
      float acc = bias.empty() ? 0.0f : bias[static_cast<size_t>(c)];
      acc += static_cast<float>(dot) * scale;
      output[static_cast<size_t>(b * shape.out_channels + c)] =
          std::clamp(acc, params.activation_min, params.activation_max);
    }
  }
}

Result<std::vector<float>> DequantizeInt4Weights(std::span<const uint8_t> packed,
                                                 std::span<const float> scales, int64_t rows,
                                                 int64_t cols, int64_t block_size) {
  if (rows < 0 || cols <= 0 || block_size <= 0 || cols % block_size != 0) {
    return InvalidArgumentError("int4 weights: block size " + std::to_string(block_size) +
                                " does not divide " + std::to_string(cols) + " columns");
  }
  if (scales.size() != static_cast<size_t>(rows * (cols / block_size))) {
    return InvalidArgumentError("int4 weights: " + std::to_string(scales.size()) + " scales for " +
                                std::to_string(rows) + " rows of " +
                                std::to_string(cols / block_size) + " blocks");
  }
  LITEQ_ASSIGN_OR_RETURN(std::vector<int8_t> values, quant::UnpackInt4(packed, rows * cols));
  return quant::DequantizeBlockwise(values, scales, rows, cols, block_size);
}

}  // namespace liteq::runtime::quantized
