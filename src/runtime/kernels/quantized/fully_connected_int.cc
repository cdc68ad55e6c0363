#include "runtime/kernels/quantized/fully_connected_int.h"

#include <algorithm>

namespace liteq::runtime::quantized {
namespace {

Result<FullyConnectedIntParams> Prepare(quant::QuantParams input,
                                        std::span<const float> weight_scales,
                                        quant::QuantParams output, FusedActivation activation,
                                        int32_t qmin, int32_t qmax, int max_shift) {
  LITEQ_RETURN_IF_ERROR(CheckScale(input.scale, "FULLY_CONNECTED input"));
  LITEQ_RETURN_IF_ERROR(CheckScale(output.scale, "FULLY_CONNECTED output"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(input.zero_point, qmin, qmax, "FULLY_CONNECTED input"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(output.zero_point, qmin, qmax, "FULLY_CONNECTED output"));
  if (weight_scales.empty()) {
    return InvalidArgumentError("FULLY_CONNECTED weights have no quantization scale");
  }
  FullyConnectedIntParams params;
  params.input_offset = -input.zero_point;
  params.output_offset = output.zero_point;
  params.activation = QuantizedActivationRange(activation, output, qmin, qmax);
  for (size_t c = 0; c < weight_scales.size(); ++c) {
    const std::string what = "FULLY_CONNECTED weights channel " + std::to_string(c);
    LITEQ_RETURN_IF_ERROR(CheckScale(weight_scales[c], what));
    const double real = static_cast<double>(input.scale) * static_cast<double>(weight_scales[c]) /
                        static_cast<double>(output.scale);
    LITEQ_ASSIGN_OR_RETURN(auto m, PrepareMultiplier(real, max_shift, what));
    params.multipliers.push_back(m);
  }
  return params;
}

void CheckSizes(const FullyConnectedIntParams& params, const FullyConnectedShape& shape,
                size_t input, size_t weights, size_t bias, size_t output) {
  LITEQ_CHECK(shape.batches >= 0 && shape.depth >= 0 && shape.out_channels >= 0);
  LITEQ_CHECK(input == static_cast<size_t>(shape.batches * shape.depth));
  LITEQ_CHECK(weights == static_cast<size_t>(shape.out_channels * shape.depth));
  LITEQ_CHECK(bias == 0 || bias == static_cast<size_t>(shape.out_channels));
  LITEQ_CHECK(output == static_cast<size_t>(shape.batches * shape.out_channels));
  LITEQ_CHECK(params.multipliers.size() == 1 ||
              params.multipliers.size() == static_cast<size_t>(shape.out_channels));
}

}  // namespace

Result<FullyConnectedIntParams> PrepareFullyConnectedInt8(quant::QuantParams input,
                                                          std::span<const float> weight_scales,
                                                          quant::QuantParams output,
                                                          FusedActivation activation) {
  return Prepare(input, weight_scales, output, activation, -128, 127, 30);
}

Result<FullyConnectedIntParams> PrepareFullyConnected16x8(quant::QuantParams input,
                                                          std::span<const float> weight_scales,
                                                          quant::QuantParams output,
                                                          FusedActivation activation) {
  if (input.zero_point != 0 || output.zero_point != 0) {
    return InvalidArgumentError("16x8 FULLY_CONNECTED needs zero points 0 (symmetric int16)");
  }
  return Prepare(input, weight_scales, output, activation, -32768, 32767, 30);
}

void FullyConnectedInt8(const FullyConnectedIntParams& params, const FullyConnectedShape& shape,
                        std::span<const int8_t> input, std::span<const int8_t> weights,
                        std::span<const int32_t> bias, std::span<int8_t> output) {
  CheckSizes(params, shape, input.size(), weights.size(), bias.size(), output.size());
  const bool per_channel = params.multipliers.size() > 1;
  for (int64_t b = 0; b < shape.batches; ++b) {
    const int8_t* x = input.data() + b * shape.depth;
    for (int64_t c = 0; c < shape.out_channels; ++c) {
      const int8_t* w = weights.data() + c * shape.depth;
      // TFLite accumulates in int32 and wraps on (absurdly deep) overflow; summing in
      // int64 and converting modulo 2^32 gives the same integer without UB.
      int64_t sum = 0;
      for (int64_t d = 0; d < shape.depth; ++d) {
        sum += (static_cast<int32_t>(x[d]) + params.input_offset) * static_cast<int32_t>(w[d]);
      }
      if (!bias.empty()) sum += bias[static_cast<size_t>(c)];
      const auto acc = static_cast<int32_t>(static_cast<uint32_t>(sum));
      const quant::QuantizedMultiplier& m = params.multipliers[per_channel ? c : 0];
      int32_t out = ApplyMultiplier(acc, m);
      out += params.output_offset;
      out = std::clamp(out, params.activation.min, params.activation.max);
      output[static_cast<size_t>(b * shape.out_channels + c)] = static_cast<int8_t>(out);
    }
  }
}

void FullyConnected16x8(const FullyConnectedIntParams& params, const FullyConnectedShape& shape,
                        std::span<const int16_t> input, std::span<const int8_t> weights,
                        std::span<const int64_t> bias, std::span<int16_t> output) {
  CheckSizes(params, shape, input.size(), weights.size(), bias.size(), output.size());
  const bool per_channel = params.multipliers.size() > 1;
  for (int64_t b = 0; b < shape.batches; ++b) {
    const int16_t* x = input.data() + b * shape.depth;
    for (int64_t c = 0; c < shape.out_channels; ++c) {
      const int8_t* w = weights.data() + c * shape.depth;
      int64_t acc = 0;
      for (int64_t d = 0; d < shape.depth; ++d) {
        acc += static_cast<int64_t>(x[d]) * static_cast<int64_t>(w[d]);
      }
      if (!bias.empty()) acc += bias[static_cast<size_t>(c)];
      const quant::QuantizedMultiplier& m = params.multipliers[per_channel ? c : 0];
      int32_t out = ApplyMultiplier(acc, m);
      out = std::clamp(out, params.activation.min, params.activation.max);
      output[static_cast<size_t>(b * shape.out_channels + c)] = static_cast<int16_t>(out);
    }
  }
}

}  // namespace liteq::runtime::quantized
