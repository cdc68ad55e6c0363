#include "runtime/kernels/quantized/softmax_int.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/kernels/quantized/int8_dot.h"
#include "runtime/kernels/quantized/lut_int.h"
#include "runtime/kernels/quantized/requantize_rows.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace liteq::runtime::quantized {

Result<SoftmaxInt8Params> PrepareSoftmaxInt8(quant::QuantParams input, float beta,
                                             quant::QuantParams output) {
  LITEQ_RETURN_IF_ERROR(CheckScale(input.scale, "SOFTMAX input"));
  LITEQ_RETURN_IF_ERROR(CheckScale(output.scale, "SOFTMAX output"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(output.zero_point, -128, 127, "SOFTMAX output"));
  if (!std::isfinite(beta)) return InvalidArgumentError("SOFTMAX beta is not finite");
  SoftmaxInt8Params p;
  const float scale = -input.scale * beta;
  for (int32_t d = 0; d <= 255; ++d) {
    p.table[static_cast<size_t>(255 - d)] = std::exp(scale * static_cast<float>(d));
  }
  p.output_scale = output.scale;
  p.output_zero_point = output.zero_point;
  return p;
}

void SoftmaxInt8(const SoftmaxInt8Params& params, int64_t rows, int64_t depth,
                 std::span<const int8_t> input, std::span<int8_t> output) {
  LITEQ_CHECK(rows >= 0 && depth > 0);
  LITEQ_CHECK(input.size() == static_cast<size_t>(rows * depth));
  LITEQ_CHECK(output.size() == input.size());
  const auto n = static_cast<size_t>(depth);
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* x = input.data() + static_cast<size_t>(r) * n;
    int8_t* y = output.data() + static_cast<size_t>(r) * n;
    int32_t max_val = std::numeric_limits<int8_t>::min();
    for (size_t j = 0; j < n; ++j) max_val = std::max<int32_t>(max_val, x[j]);
    // table[255 - (max - x)]: x - max is in [-255, 0].
    auto exp_of = [&](int8_t v) { return params.table[static_cast<size_t>(255 - max_val + v)]; };
    float sum = 0.0f;
    for (size_t j = 0; j < n; ++j) sum += exp_of(x[j]);
    const float inv = 1.0f / (sum * params.output_scale);
    // QuantizeSoftmaxOutput<int8_t>: std::round, then add the zero point.
    auto output_of = [&](int8_t v) {
      const int32_t q =
          static_cast<int32_t>(std::round(exp_of(v) * inv)) + params.output_zero_point;
      return static_cast<int8_t>(std::clamp(q, -128, 127));
    };
    if (n <= 256) {
      for (size_t j = 0; j < n; ++j) y[j] = output_of(x[j]);
      continue;
    }
    // A long row (attention over a large cache) holds at most max + 129 distinct
    // values: map each once (the same float operations, so the same bytes).
    std::array<int8_t, 256> out_of_value{};  // values above max_val never looked up
    for (int32_t v = -128; v <= max_val; ++v) {
      out_of_value[static_cast<size_t>(v + 128)] = output_of(static_cast<int8_t>(v));
    }
    LookUpByValue(out_of_value, x, y, n);
  }
}

void QuantizeProbabilitiesPortable(const float* exps, size_t n, float inv, int32_t zero_point,
                                   int8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const int32_t q = static_cast<int32_t>(std::round(exps[i] * inv)) + zero_point;
    out[i] = static_cast<int8_t>(std::clamp(q, -128, 127));
  }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) void QuantizeProbabilitiesAvx2(const float* exps, size_t n,
                                                               float inv, int32_t zero_point,
                                                               int8_t* out) {
  const __m256 scale = _mm256_set1_ps(inv);
  const __m256 zero = _mm256_setzero_ps();
  const __m256 limit = _mm256_set1_ps(4194304.0f);  // 2^22
  const __m256 half = _mm256_set1_ps(0.5f);
  const __m256i offset = _mm256_set1_epi32(zero_point);
  const __m256i lo = _mm256_set1_epi32(-128);
  const __m256i hi = _mm256_set1_epi32(127);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(exps + i), scale);  // as the scalar product
    // Ordered compares: false for NaN, which then takes the scalar code.
    const __m256 in_range =
        _mm256_and_ps(_mm256_cmp_ps(x, zero, _CMP_GE_OQ), _mm256_cmp_ps(x, limit, _CMP_LT_OQ));
    if (_mm256_movemask_ps(in_range) != 0xff) {
      QuantizeProbabilitiesPortable(exps + i, 8, inv, zero_point, out + i);
      continue;
    }
    const __m256i whole = _mm256_cvttps_epi32(x);
    // x - trunc(x) is exact below 2^22; a remainder >= 0.5 rounds up (-1 from the compare).
    const __m256 up = _mm256_cmp_ps(_mm256_sub_ps(x, _mm256_cvtepi32_ps(whole)), half, _CMP_GE_OQ);
    __m256i q = _mm256_sub_epi32(whole, _mm256_castps_si256(up));
    q = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(q, offset), lo), hi);
    // int32 -> int8 (already in range): lane l's four bytes in its low 32 bits.
    const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(q, q), _mm256_setzero_si256());
    const int32_t low = _mm_cvtsi128_si32(_mm256_castsi256_si128(bytes));
    const int32_t high = _mm_cvtsi128_si32(_mm256_extracti128_si256(bytes, 1));
    std::memcpy(out + i, &low, sizeof(low));
    std::memcpy(out + i + 4, &high, sizeof(high));
  }
  QuantizeProbabilitiesPortable(exps + i, n - i, inv, zero_point, out + i);
}
#else
void QuantizeProbabilitiesAvx2(const float* exps, size_t n, float inv, int32_t zero_point,
                               int8_t* out) {
  QuantizeProbabilitiesPortable(exps, n, inv, zero_point, out);
}
#endif

QuantizeProbabilitiesFn BestQuantizeProbabilities() {
  return RequantizeAvx512Supported() ? &QuantizeProbabilitiesAvx512
         : Int8DotsAvx2Supported()   ? &QuantizeProbabilitiesAvx2
                                     : &QuantizeProbabilitiesPortable;
}

float SumAfterAdding(float sum, float value, int64_t count) {
  LITEQ_CHECK(sum >= 0.0f && value >= 0.0f && std::isfinite(sum) && std::isfinite(value));
  while (count > 0) {
    const float next = sum + value;
    if (next == sum) return sum;  // every further addition rounds back to `sum`
    if (!(sum >= std::numeric_limits<float>::min()) || value > sum) {
      sum = next;  // no binade to step through yet (zero, subnormal) or a big term
      --count;
      continue;
    }
    // sum in [2^e, 2^(e+1)), ulp u = 2^(e-23). In units of u: sum is an integer
    // S0 < 2^24, value is V (exact in double). While S0 + V < 2^24 the exact sum stays
    // in the binade, so it rounds to the nearest multiple of u: S0 + round(V), the
    // same step D each time unless V is halfway between integers (ties to even then
    // alternate with the parity of the sum: take those additions one by one).
    int exponent = 0;
    std::frexp(sum, &exponent);  // sum = f * 2^exponent, f in [0.5, 1)
    const double ulp = std::ldexp(1.0, exponent - 24);
    const double s0 = static_cast<double>(sum) / ulp;
    const double v = static_cast<double>(value) / ulp;
    const double d = std::nearbyint(v);
    const double room = 16777216.0 - s0 - v;  // 2^24 - S0 - V, exact
    if (v - std::floor(v) == 0.5 || room <= 0.0 || d == 0.0) {
      sum = next;
      --count;
      continue;
    }
    // Additions i = 0..k-1 with S0 + i * D + V < 2^24 stay in the binade.
    auto k = static_cast<int64_t>(std::floor(room / d));
    if (static_cast<double>(k) * d < room) ++k;
    k = std::min(k, count);
    sum = static_cast<float>((s0 + static_cast<double>(k) * d) * ulp);
    count -= k;
  }
  return sum;
}

void PopulateInt16Lut(float input_scale, int32_t input_zero_point, float output_scale,
                      int32_t output_zero_point, float (*transform)(float), Int16Lut& lut) {
  constexpr int32_t kMin = std::numeric_limits<int16_t>::min();
  constexpr int32_t kMax = std::numeric_limits<int16_t>::max();
  const float input_min = input_scale * static_cast<float>(kMin - input_zero_point);
  const float input_max = input_scale * static_cast<float>(kMax - input_zero_point);
  const float output_min = output_scale * static_cast<float>(kMin - output_zero_point);
  const float output_max = output_scale * static_cast<float>(kMax - output_zero_point);
  constexpr int kSteps = 512;
  const float step = (input_max - input_min) / kSteps;
  const float half_step = step / 2;
  const float output_scaling_inv = static_cast<float>(kMax - kMin + 1) / (output_max - output_min);
  auto saturate = [](float v) {
    return static_cast<int16_t>(
        std::min(std::max(v, static_cast<float>(kMin)), static_cast<float>(kMax)));
  };
  for (int i = 0; i < kSteps; ++i) {
    const float x = input_min + static_cast<float>(i) * step;
    const float val = transform(x);
    const float val_mid = transform(x + half_step);
    const float val_next = transform(input_min + static_cast<float>(i + 1) * step);
    const float sample = std::round(val * output_scaling_inv);
    // Bias each sample by half the error linear interpolation makes at the midpoint.
    const float mid_interp = std::round((val_next * output_scaling_inv + sample) / 2);
    const float mid_exact = std::round(val_mid * output_scaling_inv);
    const float bias = std::round((mid_interp - mid_exact) / 2);
    lut[static_cast<size_t>(i)] = saturate(sample - bias);
  }
  lut[kSteps] = saturate(std::round(transform(input_max) * output_scaling_inv));
}

int16_t Int16LutLookup(int16_t value, const Int16Lut& lut) {
  // 512 segments of 128 input steps; the high 9 bits pick the segment.
  const auto index = static_cast<size_t>(256 + (value >> 7));
  const int32_t offset = value & 0x7f;
  const int32_t base = lut[index];
  const int32_t slope = lut[index + 1] - lut[index];
  const int32_t delta = (slope * offset + 64) >> 7;
  return static_cast<int16_t>(base + delta);
}

Result<SoftmaxInt16Params> PrepareSoftmaxInt16(quant::QuantParams input, float beta,
                                               quant::QuantParams output) {
  LITEQ_RETURN_IF_ERROR(CheckScale(input.scale, "SOFTMAX input"));
  if (input.zero_point != 0 || output.zero_point != 0) {
    return InvalidArgumentError("int16 SOFTMAX needs zero points 0");
  }
  if (!std::isfinite(beta)) return InvalidArgumentError("SOFTMAX beta is not finite");
  SoftmaxInt16Params p;
  constexpr float kRange = 65535.0f;  // int16 max - min
  // exp on [-10, 0] and 1/(1+x) on [0, 1], both with output scale 2/65535 (Q0.15).
  PopulateInt16Lut(
      10.0f / kRange, 32767, 2.0f / kRange, 0, [](float v) { return std::exp(v); }, p.exp_lut);
  PopulateInt16Lut(
      1.0f / kRange, -32768, 2.0f / kRange, 0, [](float v) { return 1.0f / (1.0f + v); },
      p.one_over_one_plus_x_lut);
  // Rescale input differences so [-65535, 0] corresponds to [-10, 0].
  // TFLite multiplies scale * beta in float before the double division.
  const double rescale = static_cast<double>(input.scale * beta) / (10.0 / 65535.0);
  LITEQ_ASSIGN_OR_RETURN(p.input_multiplier, PrepareMultiplier(rescale, 30, "SOFTMAX input"));
  return p;
}

void SoftmaxInt16(const SoftmaxInt16Params& params, int64_t rows, int64_t depth,
                  std::span<const int16_t> input, std::span<int16_t> output) {
  LITEQ_CHECK(rows >= 0 && depth > 0);
  LITEQ_CHECK(input.size() == static_cast<size_t>(rows * depth));
  LITEQ_CHECK(output.size() == input.size());
  const auto n = static_cast<size_t>(depth);
  for (int64_t r = 0; r < rows; ++r) {
    const int16_t* x = input.data() + static_cast<size_t>(r) * n;
    int16_t* y = output.data() + static_cast<size_t>(r) * n;
    int16_t max_in_row = std::numeric_limits<int16_t>::min();
    for (size_t j = 0; j < n; ++j) max_in_row = std::max(max_in_row, x[j]);
    // exp(x - max) in Q0.15, cached in the output as TFLite does.
    int64_t sum = 0;
    for (size_t j = 0; j < n; ++j) {
      const int32_t diff = static_cast<int32_t>(x[j]) - max_in_row;
      const int32_t scaled = quant::MultiplyByQuantizedMultiplier(
          diff, params.input_multiplier.multiplier, params.input_multiplier.shift);
      const int32_t symmetric = std::clamp(scaled + 32767, -32768, 32767);
      y[j] = Int16LutLookup(static_cast<int16_t>(symmetric), params.exp_lut);
      sum += y[j];
    }
    // TFLite sums in int32; it cannot overflow below ~65536 columns. Beyond that
    // liteq saturates instead of wrapping.
    const auto sum_of_exps =
        static_cast<int32_t>(std::min<int64_t>(sum, std::numeric_limits<int32_t>::max()));
    // 1 / sum via the 1/(1+x) table on the sum normalised to [1, 2).
    const int headroom_plus_one = std::countl_zero(static_cast<uint32_t>(sum_of_exps));
    const auto shifted_sum = static_cast<int32_t>(
        ((static_cast<int64_t>(sum_of_exps) << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
    const int32_t sym_shifted_sum = shifted_sum - ((1 << 15) + (1 << 16));
    const int16_t reciprocal =
        Int16LutLookup(static_cast<int16_t>(std::clamp(sym_shifted_sum, -32768, 32767)),
                       params.one_over_one_plus_x_lut);
    const int right_shift = 31 - headroom_plus_one;
    const int64_t round = int64_t{1} << (right_shift - 1);
    for (size_t j = 0; j < n; ++j) {
      const auto result = static_cast<int32_t>(
          (static_cast<int64_t>(y[j]) * static_cast<int64_t>(reciprocal) + round) >> right_shift);
      y[j] = static_cast<int16_t>(std::clamp(result, 0, 32767));
    }
  }
}

}  // namespace liteq::runtime::quantized
