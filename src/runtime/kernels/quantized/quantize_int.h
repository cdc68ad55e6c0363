// QUANTIZE and DEQUANTIZE (TFLite quantize.cc / dequantize.cc, reference
// AffineQuantize / Requantize / Dequantize / PerChannelDequantize).
//   float -> int:  q = clamp(round(x / scale) + zp)   (division in float, std::round)
//   int -> int:    q = clamp(R(x - zp_in, m, shift) + zp_out), R as RequantizeParams says,
//                  m, shift = QuantizeMultiplier(double(s_in) / double(s_out))
//   int -> float:  float(double(scale) * (q - zp))    per tensor
//                  (q - zp[c]) * scale[c] in float     per channel (along `axis`)
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_QUANTIZE_INT_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_QUANTIZE_INT_H_

#include <cstdint>
#include <span>

#include "runtime/kernels/quantized/elementwise_int.h"

namespace liteq::runtime::quantized {

Status CheckQuantParams(IntType type, quant::QuantParams params, const std::string& what);

void QuantizeFloatToInt8(std::span<const float> input, quant::QuantParams output,
                         std::span<int8_t> result);
void QuantizeFloatToInt16(std::span<const float> input, quant::QuantParams output,
                          std::span<int16_t> result);

struct RequantizeParams {
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  quant::QuantizedMultiplier multiplier;
  int32_t output_min = -128;
  int32_t output_max = 127;
  // int8 -> int8 runs in XNNPACK under LiteRT (single rounding, ApplyMultiplier);
  // the int16 conversions in TFLite's Requantize (double rounding).
  bool single_rounding = true;
};
Result<RequantizeParams> PrepareRequantize(IntType input_type, quant::QuantParams input,
                                           IntType output_type, quant::QuantParams output);
// The span element types must match the prepared types.
void Requantize(const RequantizeParams& params, std::span<const int8_t> input,
                std::span<int8_t> output);
void Requantize(const RequantizeParams& params, std::span<const int8_t> input,
                std::span<int16_t> output);
void Requantize(const RequantizeParams& params, std::span<const int16_t> input,
                std::span<int8_t> output);
void Requantize(const RequantizeParams& params, std::span<const int16_t> input,
                std::span<int16_t> output);

void DequantizeInt8(std::span<const int8_t> input, quant::QuantParams params,
                    std::span<float> output);
void DequantizeInt16(std::span<const int16_t> input, quant::QuantParams params,
                     std::span<float> output);
// Per-axis int8 (weight-only models): shape is the tensor's, scales/zero_points have
// shape[axis] entries.
Status DequantizeInt8PerChannel(std::span<const int8_t> input, std::span<const int64_t> shape,
                                int axis, std::span<const float> scales,
                                std::span<const int32_t> zero_points, std::span<float> output);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_QUANTIZE_INT_H_
