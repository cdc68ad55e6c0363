#include "runtime/kernels/quantized/fully_connected_fast.h"

#include <algorithm>
#include <memory>

#include "runtime/kernels/quantized/quantize_fast.h"
#include "runtime/kernels/quantized/requantize_rows.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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
  fast.requantize = BestFcRequantizeBlock();
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
                                int64_t row_end, PackedInt8DotsFn dots, const uint8_t* prepared) {
  const auto out_channels = static_cast<size_t>(shape.out_channels);
  CheckRowRange(shape, weights, row_begin, row_end);
  LITEQ_CHECK(params.requantize != nullptr);
  BlockedPackedInt8Dots(
      weights, input, static_cast<size_t>(shape.batches), static_cast<size_t>(row_begin),
      static_cast<size_t>(row_end), dots,
      [&](size_t b0, size_t rows, size_t r0, size_t count, const int32_t* dot, size_t ld) {
        FcRequantizeArgs args;
        args.bias = params.folded_bias.data() + r0;
        args.multiplier = params.multiplier.data() + r0;
        args.total_shift = params.total_shift.data() + r0;
        args.output_offset = params.output_offset;
        args.min = params.activation.min;
        args.max = params.activation.max;
        args.saturate = params.saturate;
        params.requantize(args, dot, ld, rows, count, output + b0 * out_channels + r0,
                          out_channels);
      },
      prepared);
}

void QuantizeHybridRows(const HybridFullyConnectedParams& params, const FullyConnectedShape& shape,
                        const float* input, int8_t* quantized, quant::QuantParams* row_params) {
  const auto depth = static_cast<size_t>(shape.depth);
  for (size_t b = 0; b < static_cast<size_t>(shape.batches); ++b) {
    row_params[b] = FastQuantizeHybridRow({input + b * depth, depth}, params.asymmetric_inputs,
                                          {quantized + b * depth, depth});
  }
}

void HybridBlockPortable(const HybridBlockArgs& a) {
  for (size_t r = 0; r < a.rows; ++r) {
    const auto zero_point = static_cast<uint32_t>(a.row_params[r].zero_point);
    for (size_t i = 0; i < a.count; ++i) {
      const auto dot = static_cast<int32_t>(static_cast<uint32_t>(a.raw[r * a.ld_raw + i]) -
                                            static_cast<uint32_t>(a.row_sums[i]) * zero_point);
      const float scale = a.row_params[r].scale * a.weight_scales[a.per_channel ? i : 0];
      float acc = a.bias == nullptr ? 0.0f : a.bias[i];
      acc += static_cast<float>(dot) * scale;
      a.out[r * a.ld_out + i] = std::clamp(acc, a.lo, a.hi);
    }
  }
}

#if defined(__x86_64__) || defined(__i386__)
// GCC 12's AVX-512 headers start some intrinsics from undefined vectors, which
// -Wuninitialized reports at every call (GCC bug 105593, fixed in GCC 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// fp-contract=off: AVX-512 implies FMA, and GCC would otherwise fuse the multiply and
// the add below into one rounding where the reference rounds twice.
#define LITEQ_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl"), optimize("fp-contract=off")))
// Each 16 channels' row sums, weight scales and bias are loaded once for all the
// block's rows (per row and 32 channels at a time it cost ~0.6 ns per output, a fifth
// of SmolLM2's 576 x 1536 FC in a 128-token prefill).
LITEQ_AVX512 void HybridBlockAvx512(const HybridBlockArgs& a) {
  const __m512 lo = _mm512_set1_ps(a.lo), hi = _mm512_set1_ps(a.hi);
  for (size_t i = 0; i < a.count; i += 16) {
    const auto mask =
        static_cast<__mmask16>(a.count - i >= 16 ? 0xFFFF : (1u << (a.count - i)) - 1);
    const __m512i row_sums = _mm512_maskz_loadu_epi32(mask, a.row_sums + i);
    const __m512 weight_scale = a.per_channel ? _mm512_maskz_loadu_ps(mask, a.weight_scales + i)
                                              : _mm512_set1_ps(a.weight_scales[0]);
    const __m512 bias =
        a.bias == nullptr ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, a.bias + i);
    for (size_t r = 0; r < a.rows; ++r) {
      const __m512i dot = _mm512_sub_epi32(
          _mm512_maskz_loadu_epi32(mask, a.raw + r * a.ld_raw + i),
          _mm512_mullo_epi32(row_sums, _mm512_set1_epi32(a.row_params[r].zero_point)));
      const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(a.row_params[r].scale), weight_scale);
      __m512 acc = _mm512_add_ps(bias, _mm512_mul_ps(_mm512_cvtepi32_ps(dot), scale));
      // std::clamp: acc < lo ? lo : (hi < acc ? hi : acc).
      acc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(acc, lo, _CMP_LT_OQ), acc, lo);
      acc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(hi, acc, _CMP_LT_OQ), acc, hi);
      _mm512_mask_storeu_ps(a.out + r * a.ld_out + i, mask, acc);
    }
  }
}
#undef LITEQ_AVX512
#pragma GCC diagnostic pop
#else
void HybridBlockAvx512(const HybridBlockArgs& a) { HybridBlockPortable(a); }  // never picked
#endif

namespace {

using HybridBlockFn = void (*)(const HybridBlockArgs&);

HybridBlockFn BestHybridBlock() {
#if defined(__x86_64__) || defined(__i386__)
  if (RequantizeAvx512Supported()) return &HybridBlockAvx512;
#endif
  return &HybridBlockPortable;
}

}  // namespace

void FastHybridFullyConnectedRows(const HybridFullyConnectedParams& params,
                                  const FullyConnectedShape& shape,
                                  std::span<const int32_t> row_sums, const int8_t* quantized,
                                  const quant::QuantParams* row_params,
                                  const PackedInt8Weights& weights, const float* bias,
                                  float* output, int64_t row_begin, int64_t row_end,
                                  PackedInt8DotsFn dots, const uint8_t* prepared) {
  LITEQ_CHECK(row_sums.size() == static_cast<size_t>(shape.out_channels));
  const bool per_channel = params.weight_scales.size() > 1;
  const auto out_channels = static_cast<size_t>(shape.out_channels);
  CheckRowRange(shape, weights, row_begin, row_end);
  static const HybridBlockFn block_fn = BestHybridBlock();
  BlockedPackedInt8Dots(
      weights, quantized, static_cast<size_t>(shape.batches), static_cast<size_t>(row_begin),
      static_cast<size_t>(row_end), dots,
      [&](size_t b0, size_t rows, size_t r0, size_t count, const int32_t* raw, size_t ld) {
        HybridBlockArgs a;
        a.raw = raw;
        a.ld_raw = ld;
        a.rows = rows;
        a.count = count;
        a.row_params = row_params + b0;
        a.row_sums = row_sums.data() + r0;
        a.weight_scales = params.weight_scales.data() + (per_channel ? r0 : 0);
        a.per_channel = per_channel;
        a.bias = bias == nullptr ? nullptr : bias + r0;
        a.lo = params.activation_min;
        a.hi = params.activation_max;
        a.out = output + b0 * out_channels + r0;
        a.ld_out = out_channels;
        block_fn(a);
      },
      prepared);
}

}  // namespace liteq::runtime::quantized
