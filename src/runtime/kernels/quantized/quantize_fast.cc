#include "runtime/kernels/quantized/quantize_fast.h"

#include <algorithm>
#include <cmath>

#include "liteq/status.h"
#include "runtime/kernels/quantized/hybrid_fully_connected.h"
#include "runtime/kernels/quantized/int8_dot.h"
#include "runtime/kernels/quantized/requantize_rows.h"

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

// Rounds v half away from zero (exact, see the header of QuantizeEight).
LITEQ_AVX2 inline __m256 RoundHalfAway(__m256 v) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_andnot_ps(sign_mask, _mm256_sub_ps(v, t));
  const __m256 away = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  const __m256 signed_one = _mm256_or_ps(_mm256_and_ps(v, sign_mask), _mm256_set1_ps(1.0f));
  return _mm256_add_ps(t, _mm256_and_ps(away, signed_one));
}

LITEQ_AVX2 inline float HorizontalMax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

LITEQ_AVX2 inline float HorizontalMin(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// The row's range as the reference computes it; lanes never hold NaN (vmaxps(x, acc)
// returns acc when x is NaN), and max/min of non-NaN floats do not depend on order.
LITEQ_AVX2 void RowRange(const float* x, size_t n, bool asymmetric, float* lo, float* hi) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    if (!asymmetric) v = _mm256_and_ps(v, abs_mask);
    vhi = _mm256_max_ps(v, vhi);
    vlo = _mm256_min_ps(v, vlo);
  }
  float l = HorizontalMin(vlo), h = HorizontalMax(vhi);
  for (; i < n; ++i) {
    const float v = asymmetric ? x[i] : std::abs(x[i]);
    l = std::min(l, v);
    h = std::max(h, v);
  }
  *lo = l;
  *hi = h;
}

// q[i] = clamp(round(offset + x[i] * inverse), qmin, 127), NaN -> 0, for i < n rounded
// down to 8; returns how many were done.
LITEQ_AVX2 size_t QuantizeRowAvx2(const float* x, size_t n, float inverse, float offset, float qmin,
                                  int8_t* q) {
  const __m256 inv = _mm256_set1_ps(inverse);
  const __m256 off = _mm256_set1_ps(offset);
  const __m256 lo = _mm256_set1_ps(qmin);
  const __m256 hi = _mm256_set1_ps(127.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // Two roundings as the reference (no FMA: this function is not built with it).
    const __m256 v = _mm256_add_ps(off, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    const __m256 r = RoundHalfAway(v);
    const __m256 is_nan = _mm256_cmp_ps(r, r, _CMP_UNORD_Q);
    const __m256 clamped = _mm256_andnot_ps(is_nan, _mm256_min_ps(_mm256_max_ps(r, lo), hi));
    const __m256i ints = _mm256_cvttps_epi32(clamped);
    const __m128i words =
        _mm_packs_epi32(_mm256_castsi256_si128(ints), _mm256_extracti128_si256(ints, 1));
    const __m128i bytes = _mm_packs_epi16(words, words);
    std::memcpy(q + i, &bytes, 8);
  }
  return i;
}

// GCC 12's AVX-512 headers start some intrinsics from undefined vectors, which
// -Wuninitialized reports at every call (GCC bug 105593, fixed in GCC 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// fp-contract=off: AVX-512 implies FMA; the reference rounds the product and the sum
// separately.
#define LITEQ_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl"), optimize("fp-contract=off")))

// Bitwise float operations in integer lanes (their _ps forms need AVX-512 DQ).
LITEQ_AVX512 inline __m512 And(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}
LITEQ_AVX512 inline __m512 AndNot(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(_mm512_andnot_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}
LITEQ_AVX512 inline __m512 Or(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

LITEQ_AVX512 inline __mmask16 TailMask(size_t remaining) {
  return remaining >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << remaining) - 1);
}

// RowRange on 16 lanes, the tail masked (masked lanes keep the running value).
LITEQ_AVX512 void RowRangeAvx512(const float* x, size_t n, bool asymmetric, float* lo, float* hi) {
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = TailMask(n - i);
    __m512 v = _mm512_maskz_loadu_ps(mask, x + i);
    if (!asymmetric) v = And(v, abs_mask);
    vhi = _mm512_mask_max_ps(vhi, mask, v, vhi);
    vlo = _mm512_mask_min_ps(vlo, mask, v, vlo);
  }
  *lo = _mm512_reduce_min_ps(vlo);
  *hi = _mm512_reduce_max_ps(vhi);
}

// QuantizeRowAvx2 on 16 lanes, the tail masked: all n done (returns n).
LITEQ_AVX512 size_t QuantizeRowAvx512(const float* x, size_t n, float inverse, float offset,
                                      float qmin, int8_t* q) {
  const __m512 inv = _mm512_set1_ps(inverse);
  const __m512 off = _mm512_set1_ps(offset);
  const __m512 lo = _mm512_set1_ps(qmin);
  const __m512 hi = _mm512_set1_ps(127.0f);
  const __m512 sign_mask = _mm512_set1_ps(-0.0f);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 half = _mm512_set1_ps(0.5f);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = TailMask(n - i);
    const __m512 v = _mm512_add_ps(off, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), inv));
    // Half away from zero: trunc(v) + sign(v) * (|v - trunc(v)| >= 0.5), v - trunc(v) exact.
    const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 away =
        _mm512_cmp_ps_mask(AndNot(sign_mask, _mm512_sub_ps(v, t)), half, _CMP_GE_OQ);
    const __m512 r = _mm512_mask_add_ps(t, away, t, Or(And(v, sign_mask), one));
    const __mmask16 number = _mm512_cmp_ps_mask(r, r, _CMP_ORD_Q);  // NaN -> 0
    const __m512 clamped = _mm512_maskz_mov_ps(number, _mm512_min_ps(_mm512_max_ps(r, lo), hi));
    _mm_mask_storeu_epi8(q + i, mask, _mm512_cvtsepi32_epi8(_mm512_cvttps_epi32(clamped)));
  }
  return n;
}

#undef LITEQ_AVX512
#pragma GCC diagnostic pop

// The hybrid row's parameters from its range, as QuantizeHybridRow: {scale, zero
// point}, the inverse the values are multiplied by, and the lowest int8.
struct HybridRowQuantization {
  quant::QuantParams params;
  float inverse, qmin;
};
HybridRowQuantization HybridRowParams(float lo, float hi, bool asymmetric) {
  if (asymmetric) {
    const quant::QuantParams params = AsymmetricHybridRowParams(lo, hi);
    return {params, 1.0f / params.scale, -128.0f};
  }
  return {{hi / 127.0f, 0}, 127.0f / hi, -127.0f};
}

#endif

}  // namespace

bool QuantizeIsaSupported(QuantizeIsa isa) {
  switch (isa) {
    case QuantizeIsa::kPortable:
      return true;
#if defined(__x86_64__) || defined(__i386__)
    case QuantizeIsa::kAvx2:
      return Int8DotsAvx2Supported();
    case QuantizeIsa::kAvx512:
      return RequantizeAvx512Supported();  // the same AVX-512 F, BW and VL
#endif
    default:
      return false;
  }
}

quant::QuantParams FastQuantizeHybridRow(std::span<const float> row, bool asymmetric,
                                         std::span<int8_t> quantized) {
  static const QuantizeIsa best = QuantizeIsaSupported(QuantizeIsa::kAvx512) ? QuantizeIsa::kAvx512
                                  : QuantizeIsaSupported(QuantizeIsa::kAvx2)
                                      ? QuantizeIsa::kAvx2
                                      : QuantizeIsa::kPortable;
  return FastQuantizeHybridRowOn(best, row, asymmetric, quantized);
}

quant::QuantParams FastQuantizeHybridRowOn(QuantizeIsa isa, std::span<const float> row,
                                           bool asymmetric, std::span<int8_t> quantized) {
  LITEQ_CHECK(QuantizeIsaSupported(isa));
#if defined(__x86_64__) || defined(__i386__)
  if (isa == QuantizeIsa::kPortable) return QuantizeHybridRow(row, asymmetric, quantized);
  LITEQ_CHECK(quantized.size() >= row.size());
  const bool avx512 = isa == QuantizeIsa::kAvx512;
  float lo = 0.0f, hi = 0.0f;
  (avx512 ? &RowRangeAvx512 : &RowRange)(row.data(), row.size(), asymmetric, &lo, &hi);
  if (lo == hi) {  // symmetric: lo stays 0, so this is range == 0
    std::fill(quantized.begin(), quantized.begin() + static_cast<ptrdiff_t>(row.size()), int8_t{0});
    return {1.0f, 0};
  }
  const HybridRowQuantization h = HybridRowParams(lo, hi, asymmetric);
  const auto offset = static_cast<float>(h.params.zero_point);
  size_t i = (avx512 ? &QuantizeRowAvx512 : &QuantizeRowAvx2)(row.data(), row.size(), h.inverse,
                                                              offset, h.qmin, quantized.data());
  for (; i < row.size(); ++i) {  // the AVX2 rows' tail
    const float r = std::round(offset + row[i] * h.inverse);
    quantized[i] = std::isnan(r) ? int8_t{0} : static_cast<int8_t>(std::clamp(r, h.qmin, 127.0f));
  }
  return h.params;
#else
  return QuantizeHybridRow(row, asymmetric, quantized);
#endif
}

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
