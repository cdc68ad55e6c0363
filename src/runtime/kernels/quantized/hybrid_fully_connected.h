// Hybrid (dynamic-range) FULLY_CONNECTED: float input and output, int8 weights
// (per-tensor or per-channel, zero point 0), float bias. As TFLite's hybrid kernel
// (fully_connected.cc EvalHybrid + tensor_utils), each input row is quantized on the
// fly to int8:
//   symmetric  (asymmetric_quantize_inputs = false): range = max|x|,
//              sf = range / 127, q = clamp(round(x * 127 / range), -127, 127)
//   asymmetric (asymmetric_quantize_inputs = true): TFLite's
//              AsymmetricQuantizeFloats (range widened to 0, nudged zero point zp,
//              q = clamp(round(zp + x / sf), -128, 127))
// then out[c] = bias[c] + float(sum_d w[c][d] * (q[d] - zp)) * (sf * w_scale[c]),
// clamped to the fused activation's float range. An all-zero row gives sf = 1, q = 0.
//
// Also: int4 weights (two per byte, low nibble first) with per-channel or blockwise
// scales, dequantized to float for the float FULLY_CONNECTED that follows an explicit
// DEQUANTIZE in weight_only_int4 models.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_HYBRID_FULLY_CONNECTED_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_HYBRID_FULLY_CONNECTED_H_

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/kernels/quantized/fully_connected_int.h"

namespace liteq::runtime::quantized {

struct HybridFullyConnectedParams {
  bool asymmetric_inputs = false;
  // 1 or out_channels entries: the caller's (the interpreter passes the model's
  // quantization vector), which must outlive the params. Not copied: the kernels of
  // every signature read the one vector (SmolLM2-135M dynamic_int8: 0.8 MB, issue #6).
  std::span<const float> weight_scales;
  float activation_min = 0.0f;
  float activation_max = 0.0f;
};

// The params refer to `weight_scales` (see HybridFullyConnectedParams).
Result<HybridFullyConnectedParams> PrepareHybridFullyConnected(std::span<const float> weight_scales,
                                                               bool asymmetric_inputs,
                                                               FusedActivation activation);

// One row quantized as the hybrid kernel does; returns {scaling factor, zero point}.
quant::QuantParams QuantizeHybridRow(std::span<const float> row, bool asymmetric,
                                     std::span<int8_t> quantized);

// The asymmetric row's {scaling factor, zero point} for its range [lo, hi] (lo <= 0
// <= hi, lo < hi); the row then quantizes as round(zp + x * (1 / sf)), clamped.
quant::QuantParams AsymmetricHybridRowParams(float lo, float hi);

// scratch must hold `depth` int8 values (the quantized row).
void HybridFullyConnected(const HybridFullyConnectedParams& params,
                          const FullyConnectedShape& shape, std::span<const float> input,
                          std::span<const int8_t> weights, std::span<const float> bias,
                          std::span<float> output, std::span<int8_t> scratch);

// Unpacks int4 weights [rows, cols] (packed row-major, low nibble first) and
// dequantizes them with one scale per (row, block of block_size columns);
// block_size == cols means per-channel. DataLoss when the buffer is too short,
// InvalidArgument when the scales do not match the layout.
Result<std::vector<float>> DequantizeInt4Weights(std::span<const uint8_t> packed,
                                                 std::span<const float> scales, int64_t rows,
                                                 int64_t cols, int64_t block_size);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_HYBRID_FULLY_CONNECTED_H_
