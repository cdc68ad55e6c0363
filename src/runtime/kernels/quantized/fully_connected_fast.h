// Fast integer FULLY_CONNECTED (static int8 and hybrid) on packed int8 weights
// (packed_int8.h). Same results as the scalar references, integer for integer and
// float bit for bit:
//   int8:   acc = sum(x * w) + folded_bias[c],  folded_bias[c] = bias[c] + input_offset *
//           sum_d w[c, d] (all modulo 2^32, as the reference's int32 accumulator), then
//           ApplyMultiplier (in 64-bit arithmetic, exact for int32 accumulators),
//           output zero point and clamp, as FullyConnectedInt8.
//   hybrid: rows quantized by QuantizeHybridRow; dot = sum(q * w) - row_sum[c] * zp,
//           then the reference's float epilogue in the same operation order.
// Prepare* precompute the per-channel data from the constant weights; the *Rows
// functions compute output channels [row_begin, row_end) for every batch, so the
// runtime splits channels across threads (any range; ranges starting at a multiple
// of kPackedRows waste no work). Weights are read from their packed copy.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_FULLY_CONNECTED_FAST_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_FULLY_CONNECTED_FAST_H_

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/kernels/quantized/fully_connected_int.h"
#include "runtime/kernels/quantized/hybrid_fully_connected.h"
#include "runtime/kernels/quantized/packed_int8.h"
#include "runtime/kernels/quantized/requantize_rows.h"

namespace liteq::runtime::quantized {

// x * real as ApplyMultiplier(int64_t{x}, m) for int32 x: |x * multiplier| < 2^62 and
// the rounding term is <= 2^61, so the sum and shift fit in int64.
struct FastMultiplier {
  int64_t multiplier = 0;
  int64_t rounding = 0;
  int total_shift = 1;  // in [1, 62]
};
FastMultiplier MakeFastMultiplier(quant::QuantizedMultiplier m);
inline int32_t ApplyFastMultiplier(int32_t x, const FastMultiplier& m) {
  const int64_t result = (static_cast<int64_t>(x) * m.multiplier + m.rounding) >> m.total_shift;
  // |result| < 2^31 for multipliers < 2^31 and shifts >= 1; saturate like the reference.
  if (result < INT32_MIN) return INT32_MIN;
  if (result > INT32_MAX) return INT32_MAX;
  return static_cast<int32_t>(result);
}

struct FastFullyConnectedInt8Params {
  std::vector<int32_t> folded_bias;  // out_channels
  // Per channel (a per-tensor multiplier expanded): multiplier and 31 - shift, the
  // layout the epilogue's SIMD lanes load (requantize_rows.h).
  std::vector<int32_t> multiplier;
  std::vector<int8_t> total_shift;  // in [1, 62]
  bool saturate = false;            // some multiplier >= 1 (FcRequantizeArgs::saturate)
  int32_t output_offset = 0;
  ActivationRange activation;
  // The epilogue (dots -> int8), BestFcRequantize() unless a test picks one.
  FcRequantizeBlockFn requantize = nullptr;
};

// weights: [out_channels, depth] packed; bias empty or [out_channels].
FastFullyConnectedInt8Params PrepareFastFullyConnectedInt8(const FullyConnectedIntParams& params,
                                                           const FullyConnectedShape& shape,
                                                           const PackedInt8Weights& weights,
                                                           std::span<const int32_t> bias);

// prepared: the input prepared for `dots` (PrepareActivations) or nullptr.
void FastFullyConnectedInt8Rows(const FastFullyConnectedInt8Params& params,
                                const FullyConnectedShape& shape, const int8_t* input,
                                const PackedInt8Weights& weights, int8_t* output, int64_t row_begin,
                                int64_t row_end, PackedInt8DotsFn dots,
                                const uint8_t* prepared = nullptr);

// Quantizes every input row: quantized [batches, depth], row_params [batches].
void QuantizeHybridRows(const HybridFullyConnectedParams& params, const FullyConnectedShape& shape,
                        const float* input, int8_t* quantized, quant::QuantParams* row_params);

// bias may be null; prepared: the quantized rows prepared for `dots`, or nullptr.
void FastHybridFullyConnectedRows(const HybridFullyConnectedParams& params,
                                  const FullyConnectedShape& shape,
                                  std::span<const int32_t> row_sums, const int8_t* quantized,
                                  const quant::QuantParams* row_params,
                                  const PackedInt8Weights& weights, const float* bias,
                                  float* output, int64_t row_begin, int64_t row_end,
                                  PackedInt8DotsFn dots, const uint8_t* prepared = nullptr);

// The hybrid FC's epilogue on a block of outputs, rows [0, rows) x channels [0, count),
// from its raw dots (raw + r * ld_raw; the pointers at the block's first activation row
// and channel): the reference's float operations in its order (HybridFullyConnected),
// the same IEEE operations per lane in every version (separate multiply and add: no
// FMA contraction). FastHybridFullyConnectedRows runs the AVX-512 one where the CPU
// has it (RequantizeAvx512Supported), else the portable one; both are here for tests.
struct HybridBlockArgs {
  const int32_t* raw;
  size_t ld_raw;
  size_t rows, count;
  const quant::QuantParams* row_params;  // per activation row
  const int32_t* row_sums;               // per channel
  const float* weight_scales;            // per channel, or one for all when !per_channel
  bool per_channel;
  const float* bias;  // or nullptr
  float lo, hi;
  float* out;
  size_t ld_out;
};
void HybridBlockPortable(const HybridBlockArgs& a);
void HybridBlockAvx512(const HybridBlockArgs& a);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_FULLY_CONNECTED_FAST_H_
