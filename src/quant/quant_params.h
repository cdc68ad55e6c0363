// Choosing quantization parameters and converting values (QUANT_SPEC.md,
// "Representation"): real = scale * (q - zero_point).
//
// Activations: asymmetric int8 (range widened to include 0, zero point nudged to an
// integer so real 0 is exact, as TFLite's ChooseQuantizationParams does) or
// symmetric int16. Weights: symmetric, narrow range [-(2^(b-1)-1), 2^(b-1)-1]
// (int8: [-127, 127]; int4: [-7, 7]) per tensor, per output channel (axis 0 of
// [out, in]) or blockwise along the input dimension. Bias: int32 (int64 for 16x8)
// with scale = input_scale * weight_scale[c] and zero point 0.
#ifndef LITEQ_QUANT_QUANT_PARAMS_H_
#define LITEQ_QUANT_QUANT_PARAMS_H_

#include <cstdint>
#include <span>
#include <vector>

#include "liteq/status.h"

namespace liteq::quant {

struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// Asymmetric parameters for [min, max] mapped onto [qmin, qmax] (TFLite
// ChooseQuantizationParams: the zero point is taken from whichever end gives the
// smaller error, then rounded and clamped into [qmin, qmax]). The range is first
// widened to include 0. A degenerate range ([0, 0]) gets scale 1 and the zero point
// qmin-clamped 0, because a zero scale would make every multiplier infinite.
// Non-finite bounds are an InvalidArgument error.
Result<QuantParams> ChooseAsymmetricParams(float min, float max, int32_t qmin, int32_t qmax);
inline Result<QuantParams> ChooseInt8ActivationParams(float min, float max) {
  return ChooseAsymmetricParams(min, max, -128, 127);
}
// Symmetric int16 (16x8 activations): zero point 0, scale = max(|min|, |max|) / 32767.
Result<QuantParams> ChooseInt16ActivationParams(float min, float max);

// Largest magnitude of a symmetric signed `bits`-bit code: 127 for 8, 7 for 4.
int32_t SymmetricQMax(int bits);
// abs_max / qmax, or 1 when abs_max is 0 (an all-zero channel must still have a
// usable, positive scale).
float SymmetricScale(float abs_max, int32_t qmax);

// Symmetric weights: values in [-qmax, qmax] stored one per int8 (int4 values too;
// pack them with PackInt4), with one scale per tensor, per channel or per block.
struct SymmetricWeights {
  std::vector<int8_t> values;
  std::vector<float> scales;
};
// bits is 8 or 4.
Result<SymmetricWeights> QuantizeWeightsPerTensor(std::span<const float> weights, int bits);
// The pieces of QuantizeWeightsPerTensor, for tensors processed a slice at a time:
// the largest finite magnitude, and the values quantized with a given scale.
float WeightsAbsMax(std::span<const float> weights);
Result<SymmetricWeights> QuantizeWeightsWithScale(std::span<const float> weights, float scale,
                                                  int bits);
// weights is [rows, cols] row-major; one scale per row (quantized_dimension 0).
Result<SymmetricWeights> QuantizeWeightsPerChannel(std::span<const float> weights, int64_t rows,
                                                   int64_t cols, int bits);
// Blockwise along cols: block_size in {32, 64, 128} dividing cols; scales are
// [rows, cols / block_size] row-major.
Result<SymmetricWeights> QuantizeWeightsBlockwise(std::span<const float> weights, int64_t rows,
                                                  int64_t cols, int64_t block_size, int bits);
// Inverse of QuantizeWeightsBlockwise: float weights [rows, cols].
std::vector<float> DequantizeBlockwise(std::span<const int8_t> values,
                                       std::span<const float> scales, int64_t rows, int64_t cols,
                                       int64_t block_size);

// Bias for an int8 (int32 bias) or 16x8 (int64 bias) FULLY_CONNECTED:
// q = round(b / (input_scale * weight_scale[c])), saturated. weight_scales has one
// entry (per-tensor) or bias.size() entries (per-channel).
Result<std::vector<int32_t>> QuantizeBiasInt32(std::span<const float> bias, float input_scale,
                                               std::span<const float> weight_scales);
Result<std::vector<int64_t>> QuantizeBiasInt64(std::span<const float> bias, float input_scale,
                                               std::span<const float> weight_scales);
// The scale a bias is stored with: float(double(input_scale) * weight_scale).
float BiasScale(float input_scale, float weight_scale);

// q = clamp(round(x / scale) + zero_point, qmin, qmax), round half away from zero
// (std::round), with the division in float as TFLite's AffineQuantize does. NaN maps
// to the zero point; +-inf saturate.
int32_t QuantizeValue(float x, QuantParams params, int32_t qmin, int32_t qmax);
// scale * (q - zero_point), computed in double then rounded to float (TFLite
// Dequantize uses a double scale).
float DequantizeValue(int32_t q, QuantParams params);

void QuantizeToInt8(std::span<const float> in, QuantParams params, std::span<int8_t> out);
void QuantizeToInt16(std::span<const float> in, QuantParams params, std::span<int16_t> out);
void DequantizeInt8(std::span<const int8_t> in, QuantParams params, std::span<float> out);
void DequantizeInt16(std::span<const int16_t> in, QuantParams params, std::span<float> out);

// int4 storage (TensorType INT4): two values per byte, element 2i in the low nibble
// and 2i+1 in the high nibble; an odd count leaves the last high nibble 0.
// Values must be in [-8, 7].
std::vector<uint8_t> PackInt4(std::span<const int8_t> values);
// Sign-extends `count` nibbles; packed must hold at least (count + 1) / 2 bytes.
Result<std::vector<int8_t>> UnpackInt4(std::span<const uint8_t> packed, int64_t count);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_QUANT_PARAMS_H_
