#include "runtime/kernels/quantized/quantize_int.h"

#include <algorithm>
#include <limits>

namespace liteq::runtime::quantized {
namespace {

void Limits(IntType type, int32_t* min, int32_t* max) {
  *min = type == IntType::kInt8 ? -128 : -32768;
  *max = type == IntType::kInt8 ? 127 : 32767;
}

template <typename In, typename Out>
void RequantizeImpl(const RequantizeParams& p, std::span<const In> input, std::span<Out> output) {
  LITEQ_CHECK(input.size() == output.size());
  LITEQ_CHECK(p.output_min >= std::numeric_limits<Out>::min() &&
              p.output_max <= std::numeric_limits<Out>::max());
  for (size_t i = 0; i < input.size(); ++i) {
    const int32_t centered = static_cast<int32_t>(input[i]) - p.input_zero_point;
    const int32_t q =
        ApplyMultiplier(centered, p.multiplier, p.single_rounding) + p.output_zero_point;
    output[i] = static_cast<Out>(std::clamp(q, p.output_min, p.output_max));
  }
}

}  // namespace

Status CheckQuantParams(IntType type, quant::QuantParams params, const std::string& what) {
  int32_t lo, hi;
  Limits(type, &lo, &hi);
  LITEQ_RETURN_IF_ERROR(CheckScale(params.scale, what));
  return CheckZeroPoint(params.zero_point, lo, hi, what);
}

void QuantizeFloatToInt8(std::span<const float> input, quant::QuantParams output,
                         std::span<int8_t> result) {
  quant::QuantizeToInt8(input, output, result);
}

void QuantizeFloatToInt16(std::span<const float> input, quant::QuantParams output,
                          std::span<int16_t> result) {
  quant::QuantizeToInt16(input, output, result);
}

Result<RequantizeParams> PrepareRequantize(IntType input_type, quant::QuantParams input,
                                           IntType output_type, quant::QuantParams output) {
  LITEQ_RETURN_IF_ERROR(CheckQuantParams(input_type, input, "QUANTIZE input"));
  LITEQ_RETURN_IF_ERROR(CheckQuantParams(output_type, output, "QUANTIZE output"));
  RequantizeParams p;
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;
  Limits(output_type, &p.output_min, &p.output_max);
  p.single_rounding = input_type == IntType::kInt8 && output_type == IntType::kInt8;
  const double real = static_cast<double>(input.scale) / static_cast<double>(output.scale);
  LITEQ_ASSIGN_OR_RETURN(p.multiplier, PrepareMultiplier(real, 30, "QUANTIZE"));
  return p;
}

void Requantize(const RequantizeParams& params, std::span<const int8_t> input,
                std::span<int8_t> output) {
  RequantizeImpl(params, input, output);
}
void Requantize(const RequantizeParams& params, std::span<const int8_t> input,
                std::span<int16_t> output) {
  RequantizeImpl(params, input, output);
}
void Requantize(const RequantizeParams& params, std::span<const int16_t> input,
                std::span<int8_t> output) {
  RequantizeImpl(params, input, output);
}
void Requantize(const RequantizeParams& params, std::span<const int16_t> input,
                std::span<int16_t> output) {
  RequantizeImpl(params, input, output);
}

void DequantizeInt8(std::span<const int8_t> input, quant::QuantParams params,
                    std::span<float> output) {
  quant::DequantizeInt8(input, params, output);
}

void DequantizeInt16(std::span<const int16_t> input, quant::QuantParams params,
                     std::span<float> output) {
  quant::DequantizeInt16(input, params, output);
}

Status DequantizeInt8PerChannel(std::span<const int8_t> input, std::span<const int64_t> shape,
                                int axis, std::span<const float> scales,
                                std::span<const int32_t> zero_points, std::span<float> output) {
  if (axis < 0 || static_cast<size_t>(axis) >= shape.size()) {
    return InvalidArgumentError("DEQUANTIZE: quantized dimension " + std::to_string(axis) +
                                " is outside the tensor's rank " + std::to_string(shape.size()));
  }
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t channels = shape[static_cast<size_t>(axis)];
  if (scales.size() != static_cast<size_t>(channels) ||
      (!zero_points.empty() && zero_points.size() != scales.size())) {
    return InvalidArgumentError("DEQUANTIZE: " + std::to_string(scales.size()) +
                                " scales for a quantized dimension of " + std::to_string(channels));
  }
  if (input.size() != static_cast<size_t>(outer * channels * inner) ||
      output.size() != input.size()) {
    return InvalidArgumentError("DEQUANTIZE: tensor size does not match its shape");
  }
  size_t i = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const float scale = scales[static_cast<size_t>(c)];
      const int32_t zp = zero_points.empty() ? 0 : zero_points[static_cast<size_t>(c)];
      for (int64_t k = 0; k < inner; ++k, ++i) {
        output[i] = static_cast<float>(static_cast<int32_t>(input[i]) - zp) * scale;
      }
    }
  }
  return Status::Ok();
}

}  // namespace liteq::runtime::quantized
