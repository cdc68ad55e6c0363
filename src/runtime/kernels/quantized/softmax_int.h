// SOFTMAX on quantized tensors over the last dimension ([rows, depth]).
//
// int8 -> int8: the float-table path TFLite's builtin kernel runs by default
// (softmax.cc Prepare: optimized_ops::PopulateSoftmaxLookupTable; Eval: the
// kGenericOptimized kernel, optimized_ops::Softmax with that table; LiteRT's
// XNNPACK delegate does not take int8 softmax, so this is what it executes):
//   table[255 - d] = expf(-input_scale * beta * d), d = 0..255
//   per row: sum = sum_j table[255 - (max - x_j)]   (float, in order)
//            out_j = clamp(round(table[..] * (1 / (sum * output_scale))) + zp)
// (reference_ops::Softmax, the gemmlowp fixed-point variant, is only used by the
// kReference kernel and gives slightly different integers; liteq follows the one
// the runtime really runs.) The output should be scale 1/256, zero point -128.
//
// int16 -> int16 (scale 1/32768, zero point 0): TFLite reference SoftmaxInt16 with
// two 513-entry interpolated LUTs (exp on [-10, 0] and 1/(1+x) on [0, 1]), input
// differences rescaled so [-65535, 0] maps to [-10, 0].
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_SOFTMAX_INT_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_SOFTMAX_INT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/kernels/quantized/quantized_common.h"

namespace liteq::runtime::quantized {

struct SoftmaxInt8Params {
  std::array<float, 256> table{};
  float output_scale = 1.0f / 256;
  int32_t output_zero_point = -128;
};
Result<SoftmaxInt8Params> PrepareSoftmaxInt8(quant::QuantParams input, float beta,
                                             quant::QuantParams output);
void SoftmaxInt8(const SoftmaxInt8Params& params, int64_t rows, int64_t depth,
                 std::span<const int8_t> input, std::span<int8_t> output);

// SoftmaxInt8's output step over a run of table entries:
//   out[i] = clamp(int(std::round(exps[i] * inv)) + zero_point, -128, 127),  i < n
// (the fused int8 attention maps each possible score once per row this way). The
// AVX2 code gives the same bytes: for 0 <= x < 2^22 truncation plus the exact
// remainder x - trunc(x) decides the rounding half away from zero as std::round
// does; a vector with any other x takes the scalar code.
using QuantizeProbabilitiesFn = void (*)(const float* exps, size_t n, float inv, int32_t zero_point,
                                         int8_t* out);
void QuantizeProbabilitiesPortable(const float* exps, size_t n, float inv, int32_t zero_point,
                                   int8_t* out);
// Only callable when Int8DotsAvx2Supported() (int8_dot.h).
void QuantizeProbabilitiesAvx2(const float* exps, size_t n, float inv, int32_t zero_point,
                               int8_t* out);
// softmax_int_avx512.cc: only callable when RequantizeAvx512Supported() (requantize_rows.h).
void QuantizeProbabilitiesAvx512(const float* exps, size_t n, float inv, int32_t zero_point,
                                 int8_t* out);
QuantizeProbabilitiesFn BestQuantizeProbabilities();

// `sum` after `count` float additions of `value` in a row (sum += value), as
// SoftmaxInt8's sum computes them, in a few steps instead of `count`: the fused int8
// attention (fused_attention_int8.h) adds the equal terms of the cache rows no query
// sees this way. Both finite and >= 0. Within one binade of the sum every addition
// that does not round a tie moves the sum by the same multiple of the binade's ulp,
// so those additions are taken together.
float SumAfterAdding(float sum, float value, int64_t count);

// TFLite LUTPopulateInt16 (float arithmetic): 512 interpolation segments over the
// input range of an int16 tensor plus one end point; each entry is biased by half
// the midpoint interpolation error.
using Int16Lut = std::array<int16_t, 513>;
void PopulateInt16Lut(float input_scale, int32_t input_zero_point, float output_scale,
                      int32_t output_zero_point, float (*transform)(float), Int16Lut& lut);
// TFLite lut_lookup_with_interpolation for int16 LUTs.
int16_t Int16LutLookup(int16_t value, const Int16Lut& lut);

struct SoftmaxInt16Params {
  Int16Lut exp_lut{};
  Int16Lut one_over_one_plus_x_lut{};
  quant::QuantizedMultiplier input_multiplier;
};
Result<SoftmaxInt16Params> PrepareSoftmaxInt16(quant::QuantParams input, float beta,
                                               quant::QuantParams output);
void SoftmaxInt16(const SoftmaxInt16Params& params, int64_t rows, int64_t depth,
                  std::span<const int16_t> input, std::span<int16_t> output);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_SOFTMAX_INT_H_
