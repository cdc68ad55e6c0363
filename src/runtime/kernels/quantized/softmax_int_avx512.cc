// The softmax output step (softmax_int.h, QuantizeProbabilities) on 16 lanes: the AVX2
// version's arithmetic (truncate, then the exact remainder decides std::round's
// half-away-from-zero for 0 <= x < 2^22; a vector with any other x takes the scalar
// code) with masked tails. Compiled for generic x86-64: called only after
// RequantizeAvx512Supported().
#include <algorithm>

#include "runtime/kernels/quantized/softmax_int.h"

#if defined(__x86_64__) || defined(__i386__)
#include "runtime/kernels/quantized/avx512_intrinsics.h"

namespace liteq::runtime::quantized {

LITEQ_AVX512 void QuantizeProbabilitiesAvx512(const float* exps, size_t n, float inv,
                                              int32_t zero_point, int8_t* out) {
  const __m512 scale = _mm512_set1_ps(inv);
  const __m512 zero = _mm512_setzero_ps();
  const __m512 limit = _mm512_set1_ps(4194304.0f);  // 2^22
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512i offset = _mm512_set1_epi32(zero_point);
  const __m512i lo = _mm512_set1_epi32(-128);
  const __m512i hi = _mm512_set1_epi32(127);
  for (size_t i = 0; i < n; i += 16) {
    const size_t count = std::min<size_t>(16, n - i);
    const auto mask = static_cast<__mmask16>(count == 16 ? 0xFFFF : (1u << count) - 1);
    const __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, exps + i), scale);
    // Ordered compares: false for NaN, which then takes the scalar code.
    const __mmask16 in_range =
        _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(x, zero, _CMP_GE_OQ), x, limit, _CMP_LT_OQ);
    if ((in_range & mask) != mask) {
      QuantizeProbabilitiesPortable(exps + i, count, inv, zero_point, out + i);
      continue;
    }
    const __m512i whole = _mm512_cvttps_epi32(x);
    // x - trunc(x) is exact below 2^22; a remainder >= 0.5 rounds up.
    const __mmask16 up =
        _mm512_cmp_ps_mask(_mm512_sub_ps(x, _mm512_cvtepi32_ps(whole)), half, _CMP_GE_OQ);
    __m512i q = _mm512_mask_add_epi32(whole, up, whole, _mm512_set1_epi32(1));
    q = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, offset), lo), hi);
    _mm_mask_storeu_epi8(out + i, mask, _mm512_cvtepi32_epi8(q));
  }
}

}  // namespace liteq::runtime::quantized

#else  // not x86: never selected.

namespace liteq::runtime::quantized {
void QuantizeProbabilitiesAvx512(const float* exps, size_t n, float inv, int32_t zero_point,
                                 int8_t* out) {
  QuantizeProbabilitiesPortable(exps, n, inv, zero_point, out);
}
}  // namespace liteq::runtime::quantized

#endif
