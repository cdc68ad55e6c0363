// AVX2 KnDots (kn_dots.h). Compiled for generic x86-64: only LITEQ_AVX2 functions use
// AVX2, called after the runtime check (int8_dot.h).
#include "runtime/kernels/quantized/kn_dots.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <cstring>

#define LITEQ_AVX2 __attribute__((target("avx2")))

namespace liteq::runtime::quantized {
namespace {

LITEQ_AVX2 inline __m128i Load16(const int8_t* p) {
  __m128i v;
  std::memcpy(&v, p, sizeof(v));  // unaligned load without aliasing UB
  return v;
}

// acc[0..1] (columns i..i+15) += a0 * r0[i..] + a1 * r1[i..], `pair` = (a0, a1) as
// int16 in every int32 lane.
LITEQ_AVX2 inline void Accumulate16(__m256i pair, __m128i r0, __m128i r1, __m256i& lo,
                                    __m256i& hi) {
  const __m256i x_lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(r0, r1));  // columns 0..7
  const __m256i x_hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(r0, r1));  // columns 8..15
  lo = _mm256_add_epi32(lo, _mm256_madd_epi16(x_lo, pair));
  hi = _mm256_add_epi32(hi, _mm256_madd_epi16(x_hi, pair));
}

LITEQ_AVX2 inline __m256i PairOf(const int8_t* a, size_t k, size_t depth) {
  const auto a0 = static_cast<uint16_t>(static_cast<int16_t>(a[k]));
  const auto a1 = static_cast<uint16_t>(k + 1 < depth ? static_cast<int16_t>(a[k + 1]) : 0);
  return _mm256_set1_epi32(
      static_cast<int32_t>(static_cast<uint32_t>(a0) | (static_cast<uint32_t>(a1) << 16)));
}

LITEQ_AVX2 inline void Store8(int32_t* p, __m256i v) { std::memcpy(p, &v, sizeof(v)); }

// Columns [i, i + 16 * kBlocks).
template <int kBlocks>
LITEQ_AVX2 void Columns(const int8_t* a, const int8_t* b, size_t depth, size_t ldb, size_t i,
                        int32_t* dots) {
  __m256i acc[2 * kBlocks];
  for (__m256i& v : acc) v = _mm256_setzero_si256();
  const __m128i zero = _mm_setzero_si128();
  for (size_t k = 0; k < depth; k += 2) {
    const __m256i pair = PairOf(a, k, depth);
    const int8_t* r0 = b + k * ldb + i;
    const int8_t* r1 = r0 + ldb;
    const bool second = k + 1 < depth;
    for (int j = 0; j < kBlocks; ++j) {
      Accumulate16(pair, Load16(r0 + 16 * j), second ? Load16(r1 + 16 * j) : zero, acc[2 * j],
                   acc[2 * j + 1]);
    }
  }
  for (int j = 0; j < 2 * kBlocks; ++j) Store8(dots + i + 8 * j, acc[j]);
}

}  // namespace

LITEQ_AVX2 void KnDotsAvx2(const int8_t* a, const int8_t* b, size_t depth, size_t ldb, size_t count,
                           int32_t* dots) {
  size_t i = 0;
  for (; i + 64 <= count; i += 64) Columns<4>(a, b, depth, ldb, i, dots);
  for (; i + 16 <= count; i += 16) Columns<1>(a, b, depth, ldb, i, dots);
  if (i < count) {
    // The last < 16 columns: the scalar code on the shifted matrix.
    KnDotsPortable(a, b + i, depth, ldb, count - i, dots + i);
  }
}

}  // namespace liteq::runtime::quantized

#else  // not x86

namespace liteq::runtime::quantized {
void KnDotsAvx2(const int8_t* a, const int8_t* b, size_t depth, size_t ldb, size_t count,
                int32_t* dots) {
  KnDotsPortable(a, b, depth, ldb, count, dots);
}
}  // namespace liteq::runtime::quantized

#endif
