// FULLY_CONNECTED with integer activations (TFLite reference_integer_ops
// FullyConnected / FullyConnectedPerChannel):
//   int8:  acc = sum((x + input_offset) * w) + bias           (int32)
//          out = clamp(ApplyMultiplier(acc, m[c], shift[c]) + output_zp)
//   16x8:  acc = sum(x * w) + bias                            (int64; zero points 0)
//          out = clamp(ApplyMultiplier(int64 acc, m[c], shift[c]))
// (ApplyMultiplier: quantized_common.h, the runtime's single rounding.)
// with m[c], shift[c] = QuantizeMultiplier(double(s_in) * double(s_w[c]) / double(s_out)).
// Layouts: input [batches, depth], weights [out_channels, depth] (zero point 0),
// bias [out_channels] (may be empty), output [batches, out_channels].
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_FULLY_CONNECTED_INT_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_FULLY_CONNECTED_INT_H_

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/kernels/quantized/quantized_common.h"

namespace liteq::runtime::quantized {

struct FullyConnectedShape {
  int64_t batches = 0;
  int64_t depth = 0;
  int64_t out_channels = 0;
};

struct FullyConnectedIntParams {
  int32_t input_offset = 0;   // -input zero point
  int32_t output_offset = 0;  // output zero point
  // One entry (per-tensor weights) or one per output channel.
  std::vector<quant::QuantizedMultiplier> multipliers;
  ActivationRange activation;
};

// weight_scales: one (per-tensor) or out_channels (per-channel) entries.
Result<FullyConnectedIntParams> PrepareFullyConnectedInt8(quant::QuantParams input,
                                                          std::span<const float> weight_scales,
                                                          quant::QuantParams output,
                                                          FusedActivation activation);
// Input and output zero points must be 0 (symmetric int16).
Result<FullyConnectedIntParams> PrepareFullyConnected16x8(quant::QuantParams input,
                                                          std::span<const float> weight_scales,
                                                          quant::QuantParams output,
                                                          FusedActivation activation);

// Sizes are checked (a mismatch is a liteq bug: Prepare validated the shapes).
void FullyConnectedInt8(const FullyConnectedIntParams& params, const FullyConnectedShape& shape,
                        std::span<const int8_t> input, std::span<const int8_t> weights,
                        std::span<const int32_t> bias, std::span<int8_t> output);
void FullyConnected16x8(const FullyConnectedIntParams& params, const FullyConnectedShape& shape,
                        std::span<const int16_t> input, std::span<const int8_t> weights,
                        std::span<const int64_t> bias, std::span<int16_t> output);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_FULLY_CONNECTED_INT_H_
