// AVX2 int8 dot products (int8_dot.h). Compiled for generic x86-64: only the functions
// marked LITEQ_AVX2 use AVX2 instructions, and Int8DotsAvx2 is called only after
// Int8DotsAvx2Supported() (runtime dispatch), so the binary runs on any x86-64 CPU.
//
// Register tile: 4 weight rows x 2 (or 1) activation rows, 16 depth elements per
// step: the 16 int8 of each row are sign-extended to 16 int16 (vpmovsxbw) and
// multiplied pairwise with vpmaddwd into 8 int32 lanes (exact, see int8_dot.h): 8
// accumulators + 2 activation + 1 weight register (of 16).
#include "runtime/kernels/quantized/int8_dot.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <cstring>

#define LITEQ_AVX2 __attribute__((target("avx2")))

namespace liteq::runtime::quantized {
namespace {

LITEQ_AVX2 inline __m256i Load16AsInt16(const int8_t* p) {
  __m128i bytes;
  std::memcpy(&bytes, p, sizeof(bytes));  // unaligned load without aliasing UB
  return _mm256_cvtepi8_epi16(bytes);
}

// The four 8-lane sums of a0..a3 as one vector {sum(a0), sum(a1), sum(a2), sum(a3)}
// (vphaddd wraps like the lanes).
LITEQ_AVX2 inline __m128i ReduceFour(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  const __m256i s01 = _mm256_hadd_epi32(a0, a1);
  const __m256i s23 = _mm256_hadd_epi32(a2, a3);
  const __m256i s = _mm256_hadd_epi32(s01, s23);
  return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

LITEQ_AVX2 inline int32_t ReduceOne(__m256i a) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// Adds the products of the depth tail [d0, depth) to dots[b, r] (modulo 2^32).
inline void AddTail(const Int8DotArgs& p, size_t d0, size_t b, size_t r) {
  const int8_t* x = p.x + b * p.ldx;
  const int8_t* w = p.w + r * p.ldw;
  uint32_t sum = 0;
  for (size_t d = d0; d < p.depth; ++d) {
    sum += static_cast<uint32_t>(static_cast<int32_t>(x[d]) * static_cast<int32_t>(w[d]));
  }
  int32_t& out = p.dots[b * p.ld_dots + r];
  out = static_cast<int32_t>(static_cast<uint32_t>(out) + sum);
}

// 4 weight rows x 2 activation rows. Named accumulators (not arrays) keep GCC from
// shuffling them between registers and the stack inside the loop.
LITEQ_AVX2 void TileRows4x2(const Int8DotArgs& p, size_t b0, size_t r0) {
  __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00;
  __m256i a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  const int8_t* x0 = p.x + b0 * p.ldx;
  const int8_t* x1 = x0 + p.ldx;
  const int8_t* w0 = p.w + r0 * p.ldw;
  const int8_t* w1 = w0 + p.ldw;
  const int8_t* w2 = w1 + p.ldw;
  const int8_t* w3 = w2 + p.ldw;
  size_t d = 0;
  for (; d + 16 <= p.depth; d += 16) {
    const __m256i xv0 = Load16AsInt16(x0 + d);
    const __m256i xv1 = Load16AsInt16(x1 + d);
    __m256i wv = Load16AsInt16(w0 + d);
    a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(xv0, wv));
    a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(xv1, wv));
    wv = Load16AsInt16(w1 + d);
    a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(xv0, wv));
    a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(xv1, wv));
    wv = Load16AsInt16(w2 + d);
    a02 = _mm256_add_epi32(a02, _mm256_madd_epi16(xv0, wv));
    a12 = _mm256_add_epi32(a12, _mm256_madd_epi16(xv1, wv));
    wv = Load16AsInt16(w3 + d);
    a03 = _mm256_add_epi32(a03, _mm256_madd_epi16(xv0, wv));
    a13 = _mm256_add_epi32(a13, _mm256_madd_epi16(xv1, wv));
  }
  const __m128i sums0 = ReduceFour(a00, a01, a02, a03);
  const __m128i sums1 = ReduceFour(a10, a11, a12, a13);
  std::memcpy(p.dots + b0 * p.ld_dots + r0, &sums0, sizeof(sums0));
  std::memcpy(p.dots + (b0 + 1) * p.ld_dots + r0, &sums1, sizeof(sums1));
  if (d < p.depth) {
    for (size_t i = 0; i < 2; ++i) {
      for (size_t j = 0; j < 4; ++j) AddTail(p, d, b0 + i, r0 + j);
    }
  }
}

// 4 weight rows x 1 activation row (the GEMV of decode).
LITEQ_AVX2 void TileRows4x1(const Int8DotArgs& p, size_t b0, size_t r0) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  const int8_t* x = p.x + b0 * p.ldx;
  const int8_t* w0 = p.w + r0 * p.ldw;
  const int8_t* w1 = w0 + p.ldw;
  const int8_t* w2 = w1 + p.ldw;
  const int8_t* w3 = w2 + p.ldw;
  size_t d = 0;
  for (; d + 16 <= p.depth; d += 16) {
    const __m256i xv = Load16AsInt16(x + d);
    a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(xv, Load16AsInt16(w0 + d)));
    a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(xv, Load16AsInt16(w1 + d)));
    a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(xv, Load16AsInt16(w2 + d)));
    a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(xv, Load16AsInt16(w3 + d)));
  }
  const __m128i sums = ReduceFour(a0, a1, a2, a3);
  std::memcpy(p.dots + b0 * p.ld_dots + r0, &sums, sizeof(sums));
  if (d < p.depth) {
    for (size_t j = 0; j < 4; ++j) AddTail(p, d, b0, r0 + j);
  }
}

LITEQ_AVX2 void TileOne(const Int8DotArgs& p, size_t b, size_t r) {
  __m256i acc = _mm256_setzero_si256();
  const int8_t* x = p.x + b * p.ldx;
  const int8_t* w = p.w + r * p.ldw;
  size_t d = 0;
  for (; d + 16 <= p.depth; d += 16) {
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(Load16AsInt16(x + d), Load16AsInt16(w + d)));
  }
  p.dots[b * p.ld_dots + r] = ReduceOne(acc);
  if (d < p.depth) AddTail(p, d, b, r);
}

}  // namespace

LITEQ_AVX2 void Int8DotsAvx2(const Int8DotArgs& args, size_t b_begin, size_t b_end, size_t r_begin,
                             size_t r_end) {
  size_t r = r_begin;
  // Weight rows outer: a 4-row block (4 * depth bytes) stays in L1 while every
  // activation row passes over it, so the weights stream from memory once.
  for (; r + 4 <= r_end; r += 4) {
    size_t b = b_begin;
    for (; b + 2 <= b_end; b += 2) TileRows4x2(args, b, r);
    for (; b < b_end; ++b) TileRows4x1(args, b, r);
  }
  for (; r < r_end; ++r) {
    for (size_t b = b_begin; b < b_end; ++b) TileOne(args, b, r);
  }
}

}  // namespace liteq::runtime::quantized

#else  // not x86: the portable code stands in (never selected by BestInt8Dots).

namespace liteq::runtime::quantized {

void Int8DotsAvx2(const Int8DotArgs& args, size_t b_begin, size_t b_end, size_t r_begin,
                  size_t r_end) {
  Int8DotsPortable(args, b_begin, b_end, r_begin, r_end);
}

}  // namespace liteq::runtime::quantized

#endif
