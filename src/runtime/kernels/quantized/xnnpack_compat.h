// XNNPACK's int8 arithmetic (InterpreterOptions::int8_arithmetic = kXnnpack): what the
// official LiteRT runtime computes where its XNNPACK delegate takes an int8 op, so
// liteq's logits can be compared with LiteRT's. Scalar kernels; the rules are those
// of XNNPACK's parameter initialisers (src/microparams-init.c, src/xnnpack/
// quantization.h, src/operators/fully-connected-nc.c) and scalar microkernels:
//
// QUANTIZE float -> int8 (f32-qs8-vcvt, xnn_init_f32_qs8_cvt_scalar_params):
//   q = rne(clamp(x * (1.0f / s), -128 - zp, 127 - zp)) + zp     (all float)
// QUANTIZE int8 -> int8 (qs8-vcvt, xnn_init_qs8_cvt_scalar_params): an 8-bit multiplier
//   m = lrintf(256.0f * (s_in / s_out)), q = clamp((256 zp_out + m (x - zp_in) + 128) >> 8)
// ADD / SUB (qs8-vadd, xnn_init_qs8_add_minmax_scalar_params): with r_a = s_a / s_out,
//   r_b = +-s_b / s_out (float; SUB negates b's scale), shift = 20 - exponent(max|r|),
//   m_x = lrintf(r_x * 2^shift) (multipliers of 20..21 bits),
//   q = clamp(((1 << (shift-1)) + m_a (a - zp_a) + m_b (b - zp_b)) >> shift + zp_out)
// MUL (qs8-vmul fp32, xnn_init_qs8_mul_minmax_scalar_params): r = (s_a * s_b) / s_out,
//   q = rne(clamp(float((a - zp_a)(b - zp_b)) * r, lo - zp, hi - zp)) + zp
// FULLY_CONNECTED int8 (qs8-qc8w gemm, fp32 requantization): r[c] = s_in * s_w[c] / s_out
//   (float, left to right), acc as TFLite's (int32), q = rne(clamp(float(acc) * r[c])) + zp
// BATCH_MATMUL int8 (batch-matrix-multiply qs8, only when the rhs zero point is 0;
//   src/subgraph/batch-matrix-multiply.c): r = (s_a * s_b) / s_out (float),
//   q = rne(clamp(float(sum (a - zp_a) b) * r)) + zp_out, full int8 range.
// Hybrid FULLY_CONNECTED (f32 -> qd8 convert + qd8-f32-qc8w gemm): every input row is
//   quantized ASYMMETRICALLY (whatever asymmetric_quantize_inputs says) with
//   xnn_qd8_asymmetric_quantization_params(min, max), then
//   out = ((float(sum (q - zp) w) * row_scale) * s_w[c]) + bias[c], clamped.
// rne = round half to even (lrintf / the 1.5 * 2^23 "magic bias" trick).
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_XNNPACK_COMPAT_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_XNNPACK_COMPAT_H_

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/kernels/quantized/batch_matmul_int.h"
#include "runtime/kernels/quantized/broadcast.h"
#include "runtime/kernels/quantized/fully_connected_int.h"

namespace liteq::runtime::quantized::xnnpack {

// Round half to even, as lrintf in the default rounding mode.
int32_t RoundHalfEven(float x);

// float -> int8.
void QuantizeFloatToInt8(std::span<const float> input, quant::QuantParams output,
                         std::span<int8_t> result);

struct RequantizeParams {
  int32_t multiplier = 0;  // 8 fractional bits
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
};
// Unimplemented (the delegate leaves the op to TFLite) when s_in / s_out is outside
// XNNPACK's [2^-8, 2^7].
Result<RequantizeParams> PrepareRequantize(quant::QuantParams input, quant::QuantParams output);
void Requantize(const RequantizeParams& params, std::span<const int8_t> input,
                std::span<int8_t> output);

struct AddParams {
  int32_t bias = 0;  // rounding - m_a zp_a - m_b zp_b
  int32_t a_multiplier = 0;
  int32_t b_multiplier = 0;
  int shift = 0;
  int32_t output_zero_point = 0;
  ActivationRange activation;
};
// Unimplemented when s_a / s_out or s_b / s_out is outside [2^-10, 2^8).
Result<AddParams> PrepareAdd(quant::QuantParams a, quant::QuantParams b, quant::QuantParams output,
                             ActivationRange activation, bool subtract);
void Add(const AddParams& params, const BroadcastPlan& plan, std::span<const int8_t> a,
         std::span<const int8_t> b, std::span<int8_t> output);

struct MulParams {
  int32_t a_zero_point = 0;
  int32_t b_zero_point = 0;
  float scale = 0.0f;
  int32_t output_zero_point = 0;
  ActivationRange activation;
};
// Unimplemented when (s_a s_b) / s_out is outside [2^-16, 2^8).
Result<MulParams> PrepareMul(quant::QuantParams a, quant::QuantParams b, quant::QuantParams output,
                             ActivationRange activation);
void Mul(const MulParams& params, const BroadcastPlan& plan, std::span<const int8_t> a,
         std::span<const int8_t> b, std::span<int8_t> output);

struct FullyConnectedParams {
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  std::vector<float> scales;  // one per output channel
  ActivationRange activation;
};
// weight_scales: 1 or out_channels entries. Unimplemented when a requantization scale
// is >= 256 (XNNPACK refuses the operator).
Result<FullyConnectedParams> PrepareFullyConnected(quant::QuantParams input,
                                                   std::span<const float> weight_scales,
                                                   int64_t out_channels, quant::QuantParams output,
                                                   ActivationRange activation);
void FullyConnected(const FullyConnectedParams& params, const FullyConnectedShape& shape,
                    std::span<const int8_t> input, std::span<const int8_t> weights,
                    std::span<const int32_t> bias, std::span<int8_t> output);

struct BatchMatMulParams {
  BatchMatMulInt8Params layout;  // offsets, dimensions, batch broadcasting (not its multiplier)
  float scale = 0.0f;
};
// `layout` from PrepareBatchMatMulInt8. Unimplemented (LiteRT leaves the op to TFLite)
// unless the rhs zero point is 0, or, for a constant rhs, when the scale is outside
// (0, 255].
Result<BatchMatMulParams> PrepareBatchMatMul(BatchMatMulInt8Params layout, quant::QuantParams lhs,
                                             quant::QuantParams rhs, quant::QuantParams output,
                                             bool constant_rhs);
void BatchMatMul(const BatchMatMulParams& params, std::span<const int8_t> lhs,
                 std::span<const int8_t> rhs, std::span<int8_t> output);

// One row quantized as XNNPACK's f32 -> qd8 convert does: returns {scale, zero point}
// (scale = 1 / (255 / (max(0, max) - min(0, min))), 1 for a zero row).
quant::QuantParams QuantizeDynamicRow(std::span<const float> row, std::span<int8_t> quantized);

struct HybridParams {
  std::vector<float> weight_scales;  // one per output channel
  float activation_min = 0.0f;
  float activation_max = 0.0f;
};
// scratch holds `depth` int8 values.
void HybridFullyConnected(const HybridParams& params, const FullyConnectedShape& shape,
                          std::span<const float> input, std::span<const int8_t> weights,
                          std::span<const float> bias, std::span<float> output,
                          std::span<int8_t> scratch);

}  // namespace liteq::runtime::quantized::xnnpack

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_XNNPACK_COMPAT_H_
