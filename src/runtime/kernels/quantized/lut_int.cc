#include "runtime/kernels/quantized/lut_int.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>

#include "runtime/kernels/quantized/rsqrt_int.h"

namespace liteq::runtime::quantized {
namespace {

float Logistic(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float Tanh(float x) { return std::tanh(x); }
// TFLite gelu.cc: 0.5 x (1 + erf(x / sqrt 2)) and the tanh approximation.
float Gelu(float x) {
  return 0.5f * x * (1.0f + std::erf(x * static_cast<float>(std::numbers::sqrt2 / 2)));
}
float GeluApproximate(float x) {
  const auto k = static_cast<float>(std::sqrt(2.0 / std::numbers::pi));
  return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}
// Non-positive inputs have no real rsqrt; like TFLite's int8 RSQRT (which maps the
// zero input to the largest output), they saturate to the top of the range.
float Rsqrt(float x) {
  return x > 0.0f ? 1.0f / std::sqrt(x) : std::numeric_limits<float>::infinity();
}

}  // namespace

float EvaluateLutFunction(LutFunction function, float x) {
  switch (function) {
    case LutFunction::kLogistic:
      return Logistic(x);
    case LutFunction::kTanh:
      return Tanh(x);
    case LutFunction::kGelu:
      return Gelu(x);
    case LutFunction::kGeluApproximate:
      return GeluApproximate(x);
    case LutFunction::kRsqrt:
      return Rsqrt(x);
  }
  return 0.0f;
}

void PopulateInt8Lut(quant::QuantParams input, quant::QuantParams output, float (*transform)(float),
                     Int8Lut& lut) {
  const float inverse_scale = 1 / output.scale;
  for (int32_t q = -128; q <= 127; ++q) {
    const float dequantized = input.scale * static_cast<float>(q - input.zero_point);
    const float rescaled = std::round(transform(dequantized) * inverse_scale);
    const float shifted = rescaled + static_cast<float>(output.zero_point);
    // Clamp before converting: an infinite or NaN value must not reach the cast.
    int32_t value;
    if (std::isnan(shifted)) {
      value = output.zero_point;
    } else {
      value = static_cast<int32_t>(std::clamp(shifted, -128.0f, 127.0f));
    }
    lut[static_cast<uint8_t>(static_cast<int8_t>(q))] = static_cast<int8_t>(value);
  }
}

Result<Int8Lut> PrepareInt8Lut(LutFunction function, quant::QuantParams input,
                               quant::QuantParams output) {
  LITEQ_RETURN_IF_ERROR(CheckScale(input.scale, "LUT op input"));
  LITEQ_RETURN_IF_ERROR(CheckScale(output.scale, "LUT op output"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(input.zero_point, -128, 127, "LUT op input"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(output.zero_point, -128, 127, "LUT op output"));
  if (function == LutFunction::kLogistic &&
      (output.scale != 1.0f / 256 || output.zero_point != -128)) {
    return InvalidArgumentError("int8 LOGISTIC output must have scale 1/256 and zero point -128");
  }
  Int8Lut lut{};
  switch (function) {
    case LutFunction::kLogistic:
      PopulateInt8Lut(input, output, Logistic, lut);
      break;
    case LutFunction::kTanh:
      PopulateInt8Lut(input, output, Tanh, lut);
      break;
    case LutFunction::kGelu:
      PopulateInt8Lut(input, output, Gelu, lut);
      break;
    case LutFunction::kGeluApproximate:
      PopulateInt8Lut(input, output, GeluApproximate, lut);
      break;
    case LutFunction::kRsqrt: {
      // TFLite's integer algorithm, tabulated (rsqrt_int.h); inputs below the zero
      // point have no value (the runtime's RSQRT rejects them at Eval).
      LITEQ_ASSIGN_OR_RETURN(RsqrtInt8Table table, PrepareRsqrtInt8(input, output));
      lut = table.values;
      break;
    }
  }
  return lut;
}

void ApplyInt8LutPortable(const Int8Lut& lut, std::span<const int8_t> input,
                          std::span<int8_t> output) {
  LITEQ_CHECK(input.size() == output.size());
  for (size_t i = 0; i < input.size(); ++i) output[i] = lut[static_cast<uint8_t>(input[i])];
}

void ApplyInt8Lut(const Int8Lut& lut, std::span<const int8_t> input, std::span<int8_t> output) {
  LITEQ_CHECK(input.size() == output.size());
  if (LutAvx512VbmiSupported()) {
    ApplyInt8LutAvx512Vbmi(lut, input.data(), output.data(), input.size());
  } else {
    ApplyInt8LutPortable(lut, input, output);
  }
}

void LookUpByValue(const std::array<int8_t, 256>& by_value, const int8_t* x, int8_t* y, size_t n) {
  // Value order to index order: Int8Lut's entry uint8(v) is by_value's entry v + 128.
  Int8Lut lut;
  std::memcpy(lut.data(), by_value.data() + 128, 128);
  std::memcpy(lut.data() + 128, by_value.data(), 128);
  ApplyInt8Lut(lut, {x, n}, {y, n});
}

}  // namespace liteq::runtime::quantized
