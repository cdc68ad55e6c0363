#include "runtime/kernels/quantized/quantize_fast.h"

#include "liteq/status.h"
#include "runtime/kernels/quantized/int8_dot.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <cstring>
#endif

namespace liteq::runtime::quantized {
namespace {

#if defined(__x86_64__) || defined(__i386__)

#define LITEQ_AVX2 __attribute__((target("avx2")))

// 8 floats -> 8 int32 in [qmin, qmax] (see the header for why this is exact).
LITEQ_AVX2 inline __m256i QuantizeEight(__m256 x, __m256 scale, __m256 lo, __m256 hi, __m256i zp) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 v = _mm256_div_ps(x, scale);
  __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_andnot_ps(sign_mask, _mm256_sub_ps(v, t));
  const __m256 away = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  const __m256 signed_one = _mm256_or_ps(_mm256_and_ps(v, sign_mask), _mm256_set1_ps(1.0f));
  t = _mm256_add_ps(t, _mm256_and_ps(away, signed_one));
  // max/min return the second operand for NaN; NaN lanes are replaced below anyway.
  const __m256 clamped = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
  const __m256i q = _mm256_add_epi32(_mm256_cvttps_epi32(clamped), zp);
  const __m256 is_nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  return _mm256_blendv_epi8(q, zp, _mm256_castps_si256(is_nan));
}

LITEQ_AVX2 size_t QuantizeAvx2(const float* in, size_t n, quant::QuantParams params, int8_t* out) {
  const __m256 scale = _mm256_set1_ps(params.scale);
  const __m256 lo = _mm256_set1_ps(-128.0f - static_cast<float>(params.zero_point));
  const __m256 hi = _mm256_set1_ps(127.0f - static_cast<float>(params.zero_point));
  const __m256i zp = _mm256_set1_epi32(params.zero_point);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i a = QuantizeEight(_mm256_loadu_ps(in + i), scale, lo, hi, zp);
    const __m256i b = QuantizeEight(_mm256_loadu_ps(in + i + 8), scale, lo, hi, zp);
    const __m256i c = QuantizeEight(_mm256_loadu_ps(in + i + 16), scale, lo, hi, zp);
    const __m256i d = QuantizeEight(_mm256_loadu_ps(in + i + 24), scale, lo, hi, zp);
    // packs work per 128-bit lane: bytes come out as a0-3 b0-3 c0-3 d0-3 a4-7 ...;
    // the dword permutation restores element order.
    const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_permutevar8x32_epi32(bytes, order));
  }
  return i;
}

#endif

}  // namespace

void FastQuantizeFloatToInt8(std::span<const float> in, quant::QuantParams params,
                             std::span<int8_t> out) {
  LITEQ_CHECK(in.size() == out.size());
  LITEQ_CHECK(params.zero_point >= -128 && params.zero_point <= 127);
  size_t done = 0;
#if defined(__x86_64__) || defined(__i386__)
  if (Int8DotsAvx2Supported()) done = QuantizeAvx2(in.data(), in.size(), params, out.data());
#endif
  quant::QuantizeToInt8(in.subspan(done), params, out.subspan(done));
}

}  // namespace liteq::runtime::quantized
