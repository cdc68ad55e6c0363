// AVX2 dot products on packed int8 weights (packed_int8.h). Compiled for generic
// x86-64: only LITEQ_AVX2 functions use AVX2 and PackedInt8DotsAvx2 is called only
// after Int8DotsAvx2Supported() (runtime dispatch).
//
// Main path (no -128 weight): per 32-byte chunk and (row, activation row) pair,
//   vpsignb  s = sign(x) * w          (w in [-127, 127], so never overflows)
//   vpmaddubsw p = |x| * s pairwise   (|x| as uint8; pair sums <= 32512, exact)
//   vpmaddwd p * 1 -> 8 int32 lanes, vpaddd into the accumulator.
// Register tiles: 4 weight rows (one packed block) x 2 or 1 activation rows.
// Fallback (a weight is -128): both operands sign-extended to int16 and multiplied
// with vpmaddwd (exact for all int8, see int8_dot.h).
#include <algorithm>
#include <cstring>

#include "runtime/kernels/quantized/packed_int8.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define LITEQ_AVX2 __attribute__((target("avx2")))

namespace liteq::runtime::quantized {
namespace {

LITEQ_AVX2 inline __m256i Load32(const int8_t* p) {
  __m256i v;
  std::memcpy(&v, p, sizeof(v));  // unaligned load without aliasing UB
  return v;
}

// {sum(a0), sum(a1), sum(a2), sum(a3)} (vphaddd wraps like the lanes).
LITEQ_AVX2 inline __m128i ReduceFour(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  const __m256i s01 = _mm256_hadd_epi32(a0, a1);
  const __m256i s23 = _mm256_hadd_epi32(a2, a3);
  const __m256i s = _mm256_hadd_epi32(s01, s23);
  return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

// acc += the 8 int32 lanes of x . w (32 int8 pairs), exact for w != -128.
LITEQ_AVX2 inline __m256i DotStep(__m256i acc, __m256i abs_x, __m256i x, __m256i w, __m256i ones) {
  const __m256i pairs = _mm256_maddubs_epi16(abs_x, _mm256_sign_epi8(w, x));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
}

// Activation row x's chunk k: a direct load for full chunks, else the zero-padded tail.
struct XRow {
  const int8_t* x;
  size_t full_chunks;
  alignas(32) int8_t tail[kPackedDepth];
  XRow(const int8_t* row, size_t depth) : x(row), full_chunks(depth / kPackedDepth) {
    std::memset(tail, 0, sizeof(tail));
    const size_t rest = depth % kPackedDepth;
    if (rest != 0) std::memcpy(tail, row + full_chunks * kPackedDepth, rest);
  }
  LITEQ_AVX2 __m256i Chunk(size_t k) const {
    return Load32(k < full_chunks ? x + k * kPackedDepth : tail);
  }
};

LITEQ_AVX2 void Block4x1(const int8_t* blk, size_t chunks, const XRow& x, int32_t* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t k = 0; k < chunks; ++k, blk += kPackedChunkBytes) {
    const __m256i xv = x.Chunk(k);
    const __m256i ax = _mm256_sign_epi8(xv, xv);  // |x|; -128 stays 0x80 = 128 as uint8
    a0 = DotStep(a0, ax, xv, Load32(blk), ones);
    a1 = DotStep(a1, ax, xv, Load32(blk + kPackedDepth), ones);
    a2 = DotStep(a2, ax, xv, Load32(blk + 2 * kPackedDepth), ones);
    a3 = DotStep(a3, ax, xv, Load32(blk + 3 * kPackedDepth), ones);
  }
  const __m128i sums = ReduceFour(a0, a1, a2, a3);
  std::memcpy(out, &sums, sizeof(sums));
}

// Named accumulators (not arrays) keep GCC from spilling them inside the loop.
LITEQ_AVX2 void Block4x2(const int8_t* blk, size_t chunks, const XRow& x0, const XRow& x1,
                         int32_t* out0, int32_t* out1) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00;
  __m256i a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  for (size_t k = 0; k < chunks; ++k, blk += kPackedChunkBytes) {
    const __m256i xv0 = x0.Chunk(k);
    const __m256i xv1 = x1.Chunk(k);
    const __m256i ax0 = _mm256_sign_epi8(xv0, xv0);
    const __m256i ax1 = _mm256_sign_epi8(xv1, xv1);
    __m256i w = Load32(blk);
    a00 = DotStep(a00, ax0, xv0, w, ones);
    a10 = DotStep(a10, ax1, xv1, w, ones);
    w = Load32(blk + kPackedDepth);
    a01 = DotStep(a01, ax0, xv0, w, ones);
    a11 = DotStep(a11, ax1, xv1, w, ones);
    w = Load32(blk + 2 * kPackedDepth);
    a02 = DotStep(a02, ax0, xv0, w, ones);
    a12 = DotStep(a12, ax1, xv1, w, ones);
    w = Load32(blk + 3 * kPackedDepth);
    a03 = DotStep(a03, ax0, xv0, w, ones);
    a13 = DotStep(a13, ax1, xv1, w, ones);
  }
  const __m128i sums0 = ReduceFour(a00, a01, a02, a03);
  const __m128i sums1 = ReduceFour(a10, a11, a12, a13);
  std::memcpy(out0, &sums0, sizeof(sums0));
  std::memcpy(out1, &sums1, sizeof(sums1));
}

// acc += x . w over 32 int8 pairs with both sign-extended to int16 (exact for -128).
LITEQ_AVX2 inline __m256i WideStep(__m256i acc, __m256i x_lo, __m256i x_hi, const int8_t* w) {
  __m128i lo, hi;
  std::memcpy(&lo, w, sizeof(lo));
  std::memcpy(&hi, w + 16, sizeof(hi));
  acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x_lo, _mm256_cvtepi8_epi16(lo)));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(x_hi, _mm256_cvtepi8_epi16(hi)));
}

LITEQ_AVX2 void Block4x1Wide(const int8_t* blk, size_t chunks, const XRow& x, int32_t* out) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t k = 0; k < chunks; ++k, blk += kPackedChunkBytes) {
    const __m256i xv = x.Chunk(k);
    const __m256i x_lo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(xv));
    const __m256i x_hi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(xv, 1));
    a0 = WideStep(a0, x_lo, x_hi, blk);
    a1 = WideStep(a1, x_lo, x_hi, blk + kPackedDepth);
    a2 = WideStep(a2, x_lo, x_hi, blk + 2 * kPackedDepth);
    a3 = WideStep(a3, x_lo, x_hi, blk + 3 * kPackedDepth);
  }
  const __m128i sums = ReduceFour(a0, a1, a2, a3);
  std::memcpy(out, &sums, sizeof(sums));
}

}  // namespace

LITEQ_AVX2 void PackedInt8DotsAvx2(const PackedInt8Weights& w, const int8_t* x, size_t ldx,
                                   size_t batches, size_t block_begin, size_t block_end,
                                   int32_t* dots, size_t ld_dots) {
  LITEQ_CHECK(block_begin <= block_end && block_end <= w.row_blocks());
  LITEQ_CHECK(w.layout() == PackedInt8Layout::kRows4x32);
  const size_t chunks = w.chunks();
  // Activation rows outer in pairs, blocks inner: a pair's rows stay in L1 while the
  // blocks stream past; the callers keep the block range small (a few KB) when
  // there are many activation rows, so those blocks stay in cache across pairs.
  size_t b = 0;
  if (!w.has_int8_min()) {
    for (; b + 2 <= batches; b += 2) {
      const XRow x0(x + b * ldx, w.depth());
      const XRow x1(x + (b + 1) * ldx, w.depth());
      for (size_t rb = block_begin; rb < block_end; ++rb) {
        const size_t col = (rb - block_begin) * kPackedRows;
        Block4x2(w.block(rb), chunks, x0, x1, dots + b * ld_dots + col,
                 dots + (b + 1) * ld_dots + col);
      }
    }
  }
  for (; b < batches; ++b) {
    const XRow xb(x + b * ldx, w.depth());
    for (size_t rb = block_begin; rb < block_end; ++rb) {
      int32_t* out = dots + b * ld_dots + (rb - block_begin) * kPackedRows;
      if (w.has_int8_min()) {
        Block4x1Wide(w.block(rb), chunks, xb, out);
      } else {
        Block4x1(w.block(rb), chunks, xb, out);
      }
    }
  }
}

}  // namespace liteq::runtime::quantized

#else  // not x86: the portable code stands in (never selected by BestPackedInt8Dots).

namespace liteq::runtime::quantized {

void PackedInt8DotsAvx2(const PackedInt8Weights& w, const int8_t* x, size_t ldx, size_t batches,
                        size_t block_begin, size_t block_end, int32_t* dots, size_t ld_dots) {
  PackedInt8DotsPortable(w, x, ldx, batches, block_begin, block_end, dots, ld_dots);
}

}  // namespace liteq::runtime::quantized

#endif
