#include "quant/quant_params.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace liteq::quant {
namespace {

Status CheckBits(int bits) {
  if (bits != 8 && bits != 4) {
    return InvalidArgumentError("weight bit width must be 8 or 4, got " + std::to_string(bits));
  }
  return Status::Ok();
}

float AbsMax(std::span<const float> values) {
  float m = 0.0f;
  for (float v : values) {
    if (std::isfinite(v)) m = std::max(m, std::abs(v));
  }
  return m;
}

int8_t QuantizeSymmetric(float x, float scale, int32_t qmax) {
  return static_cast<int8_t>(QuantizeValue(x, {scale, 0}, -qmax, qmax));
}

template <typename T>
Result<std::vector<T>> QuantizeBias(std::span<const float> bias, float input_scale,
                                    std::span<const float> weight_scales) {
  if (weight_scales.size() != 1 && weight_scales.size() != bias.size()) {
    return InvalidArgumentError("bias has " + std::to_string(bias.size()) +
                                " channels but weights have " +
                                std::to_string(weight_scales.size()) + " scales");
  }
  // Symmetric saturation bound, as TFLite's bias quantization clamps to +-max.
  constexpr double kBound = static_cast<double>(std::numeric_limits<T>::max());
  std::vector<T> out(bias.size());
  for (size_t c = 0; c < bias.size(); ++c) {
    const float ws = weight_scales.size() == 1 ? weight_scales[0] : weight_scales[c];
    const double scale = BiasScale(input_scale, ws);
    if (!(scale > 0.0) || !std::isfinite(scale)) {
      return InvalidArgumentError("bias channel " + std::to_string(c) +
                                  " has a non-positive scale");
    }
    double q = std::round(static_cast<double>(bias[c]) / scale);
    if (std::isnan(q)) q = 0.0;
    q = std::clamp(q, -kBound, kBound);
    out[c] = static_cast<T>(q);
  }
  return out;
}

}  // namespace

Result<QuantParams> ChooseAsymmetricParams(float min, float max, int32_t qmin, int32_t qmax) {
  if (!std::isfinite(min) || !std::isfinite(max) || min > max) {
    return InvalidArgumentError("cannot choose quantization parameters for range [" +
                                std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  if (qmin >= qmax) return InvalidArgumentError("empty integer range");
  const double rmin = std::min(0.0, static_cast<double>(min));
  const double rmax = std::max(0.0, static_cast<double>(max));
  if (rmin == rmax) return QuantParams{1.0f, std::clamp<int32_t>(0, qmin, qmax)};
  const double qmin_d = qmin;
  const double qmax_d = qmax;
  const double scale = (rmax - rmin) / (qmax_d - qmin_d);
  // TFLite ChooseQuantizationParams: take the zero point from the end whose
  // computation loses less precision, then nudge it to an integer in range.
  const double zp_from_min = qmin_d - rmin / scale;
  const double zp_from_max = qmax_d - rmax / scale;
  const double err_min = std::abs(qmin_d) + std::abs(rmin / scale);
  const double err_max = std::abs(qmax_d) + std::abs(rmax / scale);
  const double zp = err_min < err_max ? zp_from_min : zp_from_max;
  int32_t nudged;
  if (zp < qmin_d) {
    nudged = qmin;
  } else if (zp > qmax_d) {
    nudged = qmax;
  } else {
    nudged = static_cast<int32_t>(std::round(zp));
  }
  return QuantParams{static_cast<float>(scale), nudged};
}

Result<QuantParams> ChooseInt16ActivationParams(float min, float max) {
  if (!std::isfinite(min) || !std::isfinite(max) || min > max) {
    return InvalidArgumentError("cannot choose int16 parameters for range [" + std::to_string(min) +
                                ", " + std::to_string(max) + "]");
  }
  return QuantParams{SymmetricScale(std::max(std::abs(min), std::abs(max)), 32767), 0};
}

int32_t SymmetricQMax(int bits) { return (1 << (bits - 1)) - 1; }

float SymmetricScale(float abs_max, int32_t qmax) {
  if (!(abs_max > 0.0f) || !std::isfinite(abs_max)) return 1.0f;
  return static_cast<float>(static_cast<double>(abs_max) / qmax);
}

Result<SymmetricWeights> QuantizeWeightsPerTensor(std::span<const float> weights, int bits) {
  LITEQ_RETURN_IF_ERROR(CheckBits(bits));
  return QuantizeWeightsWithScale(weights, SymmetricScale(AbsMax(weights), SymmetricQMax(bits)),
                                  bits);
}

float WeightsAbsMax(std::span<const float> weights) { return AbsMax(weights); }

Result<SymmetricWeights> QuantizeWeightsWithScale(std::span<const float> weights, float scale,
                                                  int bits) {
  LITEQ_RETURN_IF_ERROR(CheckBits(bits));
  if (!(scale > 0.0f) || !std::isfinite(scale)) {
    return InvalidArgumentError("weight scale " + std::to_string(scale) + " is not positive");
  }
  const int32_t qmax = SymmetricQMax(bits);
  SymmetricWeights out;
  out.scales = {scale};
  out.values.resize(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    out.values[i] = QuantizeSymmetric(weights[i], scale, qmax);
  }
  return out;
}

Result<SymmetricWeights> QuantizeWeightsPerChannel(std::span<const float> weights, int64_t rows,
                                                   int64_t cols, int bits) {
  return QuantizeWeightsBlockwise(weights, rows, cols, cols, bits);
}

Result<SymmetricWeights> QuantizeWeightsBlockwise(std::span<const float> weights, int64_t rows,
                                                  int64_t cols, int64_t block_size, int bits) {
  LITEQ_RETURN_IF_ERROR(CheckBits(bits));
  if (rows <= 0 || cols <= 0 ||
      static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) != weights.size()) {
    return InvalidArgumentError("weights have " + std::to_string(weights.size()) + " values, not " +
                                std::to_string(rows) + " x " + std::to_string(cols));
  }
  if (block_size <= 0 || cols % block_size != 0) {
    return InvalidArgumentError("block size " + std::to_string(block_size) +
                                " does not divide the input dimension " + std::to_string(cols));
  }
  const int32_t qmax = SymmetricQMax(bits);
  const int64_t blocks = cols / block_size;
  SymmetricWeights out;
  out.values.resize(weights.size());
  out.scales.resize(static_cast<size_t>(rows * blocks));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < blocks; ++b) {
      const auto block = weights.subspan(static_cast<size_t>(r * cols + b * block_size),
                                         static_cast<size_t>(block_size));
      const float scale = SymmetricScale(AbsMax(block), qmax);
      out.scales[static_cast<size_t>(r * blocks + b)] = scale;
      for (int64_t i = 0; i < block_size; ++i) {
        out.values[static_cast<size_t>(r * cols + b * block_size + i)] =
            QuantizeSymmetric(block[static_cast<size_t>(i)], scale, qmax);
      }
    }
  }
  return out;
}

std::vector<float> DequantizeBlockwise(std::span<const int8_t> values,
                                       std::span<const float> scales, int64_t rows, int64_t cols,
                                       int64_t block_size) {
  LITEQ_CHECK(rows >= 0 && cols > 0 && block_size > 0 && cols % block_size == 0);
  LITEQ_CHECK(values.size() == static_cast<size_t>(rows * cols));
  const int64_t blocks = cols / block_size;
  LITEQ_CHECK(scales.size() == static_cast<size_t>(rows * blocks));
  std::vector<float> out(values.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const float scale = scales[static_cast<size_t>(r * blocks + c / block_size)];
      out[static_cast<size_t>(r * cols + c)] =
          DequantizeValue(values[static_cast<size_t>(r * cols + c)], {scale, 0});
    }
  }
  return out;
}

float BiasScale(float input_scale, float weight_scale) {
  return static_cast<float>(static_cast<double>(input_scale) * weight_scale);
}

Result<std::vector<int32_t>> QuantizeBiasInt32(std::span<const float> bias, float input_scale,
                                               std::span<const float> weight_scales) {
  return QuantizeBias<int32_t>(bias, input_scale, weight_scales);
}

Result<std::vector<int64_t>> QuantizeBiasInt64(std::span<const float> bias, float input_scale,
                                               std::span<const float> weight_scales) {
  return QuantizeBias<int64_t>(bias, input_scale, weight_scales);
}

int32_t QuantizeValue(float x, QuantParams params, int32_t qmin, int32_t qmax) {
  if (std::isnan(x)) return std::clamp(params.zero_point, qmin, qmax);
  const float scaled = std::round(x / params.scale);
  // Clamp in float before converting: casting an out-of-range float to int is UB.
  const float lo = static_cast<float>(qmin) - static_cast<float>(params.zero_point);
  const float hi = static_cast<float>(qmax) - static_cast<float>(params.zero_point);
  if (!(scaled > lo)) return qmin;
  if (!(scaled < hi)) return qmax;
  return std::clamp(static_cast<int32_t>(scaled) + params.zero_point, qmin, qmax);
}

float DequantizeValue(int32_t q, QuantParams params) {
  return static_cast<float>(static_cast<double>(params.scale) *
                            (static_cast<int64_t>(q) - params.zero_point));
}

void QuantizeToInt8(std::span<const float> in, QuantParams params, std::span<int8_t> out) {
  LITEQ_CHECK(in.size() == out.size());
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = static_cast<int8_t>(QuantizeValue(in[i], params, -128, 127));
  }
}

void QuantizeToInt16(std::span<const float> in, QuantParams params, std::span<int16_t> out) {
  LITEQ_CHECK(in.size() == out.size());
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = static_cast<int16_t>(QuantizeValue(in[i], params, -32768, 32767));
  }
}

void DequantizeInt8(std::span<const int8_t> in, QuantParams params, std::span<float> out) {
  LITEQ_CHECK(in.size() == out.size());
  for (size_t i = 0; i < in.size(); ++i) out[i] = DequantizeValue(in[i], params);
}

void DequantizeInt16(std::span<const int16_t> in, QuantParams params, std::span<float> out) {
  LITEQ_CHECK(in.size() == out.size());
  for (size_t i = 0; i < in.size(); ++i) out[i] = DequantizeValue(in[i], params);
}

std::vector<uint8_t> PackInt4(std::span<const int8_t> values) {
  std::vector<uint8_t> packed((values.size() + 1) / 2, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    LITEQ_CHECK(values[i] >= -8 && values[i] <= 7);
    const auto nibble = static_cast<uint8_t>(values[i] & 0x0F);
    packed[i / 2] |= (i % 2 == 0) ? nibble : static_cast<uint8_t>(nibble << 4);
  }
  return packed;
}

Result<std::vector<int8_t>> UnpackInt4(std::span<const uint8_t> packed, int64_t count) {
  if (count < 0 || static_cast<uint64_t>(count + 1) / 2 > packed.size()) {
    return DataLossError("int4 data holds " + std::to_string(packed.size()) +
                         " bytes, too few for " + std::to_string(count) + " values");
  }
  std::vector<int8_t> out(static_cast<size_t>(count));
  for (size_t i = 0; i < out.size(); ++i) {
    const uint8_t byte = packed[i / 2];
    const int nibble = (i % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
    out[i] = static_cast<int8_t>(nibble >= 8 ? nibble - 16 : nibble);
  }
  return out;
}

}  // namespace liteq::quant
