#include "runtime/kernels/quantized/fully_connected_fast.h"

#include <algorithm>
#include <memory>

#include "runtime/kernels/quantized/quantize_fast.h"

namespace liteq::runtime::quantized {
namespace {

void CheckRowRange(const FullyConnectedShape& shape, const PackedInt8Weights& weights,
                   int64_t row_begin, int64_t row_end) {
  LITEQ_CHECK(shape.batches >= 0 && shape.depth >= 0);
  LITEQ_CHECK(weights.rows() == static_cast<size_t>(shape.out_channels) &&
              weights.depth() == static_cast<size_t>(shape.depth));
  LITEQ_CHECK(row_begin >= 0 && row_begin <= row_end && row_end <= shape.out_channels);
}

}  // namespace

FastMultiplier MakeFastMultiplier(quant::QuantizedMultiplier m) {
  LITEQ_CHECK(m.shift >= -31 && m.shift <= 30 && m.multiplier >= 0);
  FastMultiplier f;
  f.multiplier = m.multiplier;
  f.total_shift = 31 - m.shift;
  f.rounding = int64_t{1} << (f.total_shift - 1);
  return f;
}

FastFullyConnectedInt8Params PrepareFastFullyConnectedInt8(const FullyConnectedIntParams& params,
                                                           const FullyConnectedShape& shape,
                                                           const PackedInt8Weights& weights,
                                                           std::span<const int32_t> bias) {
  const auto rows = static_cast<size_t>(shape.out_channels);
  LITEQ_CHECK(weights.rows() == rows && weights.depth() == static_cast<size_t>(shape.depth));
  LITEQ_CHECK(bias.empty() || bias.size() == rows);
  LITEQ_CHECK(params.multipliers.size() == 1 || params.multipliers.size() == rows);
  FastFullyConnectedInt8Params fast;
  fast.output_offset = params.output_offset;
  fast.activation = params.activation;
  // Only needed here (kept by the weights for the VNNI path: not summed twice).
  const std::shared_ptr<const std::vector<int32_t>> kept_sums = weights.SharedRowSums();
  const std::vector<int32_t>& sums = *kept_sums;
  fast.folded_bias.resize(rows);
  fast.multiplier.resize(rows);
  fast.total_shift.resize(rows);
  fast.requantize = BestFcRequantize();
  for (size_t r = 0; r < rows; ++r) {
    // Modulo 2^32 like the reference accumulator: sum((x + off) * w) + bias
    //   = sum(x * w) + off * sum(w) + bias.
    uint32_t folded = static_cast<uint32_t>(params.input_offset) * static_cast<uint32_t>(sums[r]);
    if (!bias.empty()) folded += static_cast<uint32_t>(bias[r]);
    fast.folded_bias[r] = static_cast<int32_t>(folded);
    const FastMultiplier m =
        MakeFastMultiplier(params.multipliers[params.multipliers.size() == 1 ? 0 : r]);
    fast.multiplier[r] = static_cast<int32_t>(m.multiplier);
    fast.total_shift[r] = static_cast<int8_t>(m.total_shift);
    fast.saturate = fast.saturate || m.total_shift < 31;
  }
  return fast;
}

void FastFullyConnectedInt8Rows(const FastFullyConnectedInt8Params& params,
                                const FullyConnectedShape& shape, const int8_t* input,
                                const PackedInt8Weights& weights, int8_t* output, int64_t row_begin,
                                int64_t row_end, PackedInt8DotsFn dots) {
  const auto out_channels = static_cast<size_t>(shape.out_channels);
  CheckRowRange(shape, weights, row_begin, row_end);
  LITEQ_CHECK(params.requantize != nullptr);
  BlockedPackedInt8Dots(weights, input, static_cast<size_t>(shape.batches),
                        static_cast<size_t>(row_begin), static_cast<size_t>(row_end), dots,
                        [&](size_t b, size_t r0, size_t count, const int32_t* dot) {
                          FcRequantizeArgs args;
                          args.bias = params.folded_bias.data() + r0;
                          args.multiplier = params.multiplier.data() + r0;
                          args.total_shift = params.total_shift.data() + r0;
                          args.output_offset = params.output_offset;
                          args.min = params.activation.min;
                          args.max = params.activation.max;
                          args.saturate = params.saturate;
                          params.requantize(args, dot, count, output + b * out_channels + r0);
                        });
}

void QuantizeHybridRows(const HybridFullyConnectedParams& params, const FullyConnectedShape& shape,
                        const float* input, int8_t* quantized, quant::QuantParams* row_params) {
  const auto depth = static_cast<size_t>(shape.depth);
  for (size_t b = 0; b < static_cast<size_t>(shape.batches); ++b) {
    row_params[b] = FastQuantizeHybridRow({input + b * depth, depth}, params.asymmetric_inputs,
                                          {quantized + b * depth, depth});
  }
}

void FastHybridFullyConnectedRows(const HybridFullyConnectedParams& params,
                                  const FullyConnectedShape& shape,
                                  std::span<const int32_t> row_sums, const int8_t* quantized,
                                  const quant::QuantParams* row_params,
                                  const PackedInt8Weights& weights, const float* bias,
                                  float* output, int64_t row_begin, int64_t row_end,
                                  PackedInt8DotsFn dots) {
  LITEQ_CHECK(row_sums.size() == static_cast<size_t>(shape.out_channels));
  const bool per_channel = params.weight_scales.size() > 1;
  const auto out_channels = static_cast<size_t>(shape.out_channels);
  CheckRowRange(shape, weights, row_begin, row_end);
  BlockedPackedInt8Dots(
      weights, quantized, static_cast<size_t>(shape.batches), static_cast<size_t>(row_begin),
      static_cast<size_t>(row_end), dots,
      [&](size_t b, size_t r0, size_t count, const int32_t* raw) {
        // The reference's operations in its order (HybridFullyConnected); a plain loop
        // over channels that the compiler vectorizes (the same IEEE operations per
        // lane: the build has no FMA to contract them into).
        const quant::QuantParams row = row_params[b];
        const auto zero_point = static_cast<uint32_t>(row.zero_point);
        float* out = output + b * out_channels;
        for (size_t r = r0; r < r0 + count; ++r) {
          const auto dot = static_cast<int32_t>(static_cast<uint32_t>(raw[r - r0]) -
                                                static_cast<uint32_t>(row_sums[r]) * zero_point);
          const float scale = row.scale * params.weight_scales[per_channel ? r : 0];
          float acc = bias == nullptr ? 0.0f : bias[r];
          acc += static_cast<float>(dot) * scale;
          out[r] = std::clamp(acc, params.activation_min, params.activation_max);
        }
      });
}

}  // namespace liteq::runtime::quantized
