// AVX-512 VNNI dot products on packed int8 weights (packed_int8.h). Compiled for
// generic x86-64: only LITEQ_VNNI functions use AVX-512, and PackedInt8DotsAvx512Vnni
// is called only after Int8DotsAvx512VnniSupported() (runtime dispatch).
//
// vpdpbusd multiplies unsigned by signed bytes and adds each 4 products to an int32
// lane without saturation. The activations are signed, so each row is shifted once
// per call to u = x + 128 (x XOR 0x80, as uint8) and the shift is taken back out with
// the weights' row sums, kept with the packed weights when this path can run
// (PackedInt8Weights::kept_row_sums):
//   sum_d u[d] w[d] = sum_d x[d] w[d] + 128 * sum_d w[d]   (modulo 2^32, exact)
// The weights' zero padding (depth tail, rows past rows()) multiplies whatever u holds
// there into 0 and adds nothing to the row sums, so padded dots stay exact too.
//
// A packed chunk of one block (4 rows x 32 bytes) is two zmm registers: rows 0-1 and
// rows 2-3, each 256-bit half one row. The activation chunk (32 bytes) is broadcast to
// both halves, so one vpdpbusd advances two rows; the halves are summed at the end.
// Register tiles: up to kTileRows activation rows x one block (2 x kTileRows
// accumulators), so each weight load serves kTileRows rows.
#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/kernels/quantized/packed_int8.h"

#if defined(__x86_64__) || defined(__i386__)
#include "runtime/kernels/quantized/avx512_intrinsics.h"

namespace liteq::runtime::quantized {
namespace {

// Activation rows per register tile: 16 accumulators + 2 weight registers + the
// broadcast row fit the 32 zmm registers with room to spare, and 16 independent
// vpdpbusd chains per chunk hide its latency (5 cycles at 2 per cycle).
constexpr size_t kTileRows = 6;
constexpr size_t kRowAlign = 64;

LITEQ_VNNI inline __m512i BroadcastChunk(const uint8_t* p) {
  __m256i v;
  std::memcpy(&v, p, sizeof(v));
  return _mm512_broadcast_i64x4(v);
}

// rows x [rows, ldx] (depth valid bytes each) as u = x + 128 into out, row stride
// `stride` (a multiple of 64 >= depth); the bytes past depth are 0x80 (they meet
// zero weights). Never reads past depth.
LITEQ_VNNI void ToUnsigned(const int8_t* x, size_t ldx, size_t rows, size_t depth, size_t stride,
                           uint8_t* out) {
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* src = x + r * ldx;
    uint8_t* dst = out + r * stride;
    for (size_t d = 0; d < stride; d += 64) {
      const size_t n = depth > d ? std::min<size_t>(64, depth - d) : 0;
      const __mmask64 mask = n == 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
      const __m512i v = _mm512_maskz_loadu_epi8(mask, src + d);
      _mm512_storeu_si512(dst + d, _mm512_xor_si512(v, bias));
    }
  }
}

// {sum(a0), sum(a1), sum(a2), sum(a3)} of four 8-lane int32 vectors (wrapping).
LITEQ_VNNI inline __m128i ReduceFour(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  const __m256i s01 = _mm256_hadd_epi32(a0, a1);
  const __m256i s23 = _mm256_hadd_epi32(a2, a3);
  const __m256i s = _mm256_hadd_epi32(s01, s23);
  return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

// dots of M activation rows (u, row stride ldu) with the 4 B rows of B consecutive
// blocks; row_sums = their 4 B weight row sums. out[m * ld_out + 4 b + j].
template <size_t M, size_t B>
LITEQ_VNNI void Tile(const int8_t* blk, size_t chunks, const uint8_t* u, size_t ldu,
                     const int32_t* row_sums, int32_t* out, size_t ld_out) {
  // Per activation row and block: rows 0-1 and rows 2-3 of the block.
  __m512i acc[M][2 * B];
  for (size_t m = 0; m < M; ++m) {
    for (size_t i = 0; i < 2 * B; ++i) acc[m][i] = _mm512_setzero_si512();
  }
  const size_t block_bytes = chunks * kPackedChunkBytes;
  for (size_t k = 0; k < chunks; ++k, blk += kPackedChunkBytes) {
    __m512i w[2 * B];
#pragma GCC unroll 4
    for (size_t b = 0; b < B; ++b) {
      w[2 * b] = Load64(blk + b * block_bytes);
      w[2 * b + 1] = Load64(blk + b * block_bytes + 2 * kPackedDepth);
    }
    const uint8_t* uk = u + k * kPackedDepth;
#pragma GCC unroll 8
    for (size_t m = 0; m < M; ++m) {
      const __m512i xv = BroadcastChunk(uk + m * ldu);
#pragma GCC unroll 4
      for (size_t i = 0; i < 2 * B; ++i) acc[m][i] = _mm512_dpbusd_epi32(acc[m][i], xv, w[i]);
    }
  }
#pragma GCC unroll 4
  for (size_t b = 0; b < B; ++b) {
    __m128i shift;
    std::memcpy(&shift, row_sums + b * kPackedRows, sizeof(shift));
    shift = _mm_slli_epi32(shift, 7);  // 128 * row sum, wrapping like the lanes
#pragma GCC unroll 8
    for (size_t m = 0; m < M; ++m) {
      const __m512i lo = acc[m][2 * b], hi = acc[m][2 * b + 1];
      const __m128i sums = ReduceFour(_mm512_castsi512_si256(lo), _mm512_extracti64x4_epi64(lo, 1),
                                      _mm512_castsi512_si256(hi), _mm512_extracti64x4_epi64(hi, 1));
      const __m128i dots = _mm_sub_epi32(sums, shift);
      std::memcpy(out + m * ld_out + b * kPackedRows, &dots, sizeof(dots));
    }
  }
}

using TileFn = void (*)(const int8_t*, size_t, const uint8_t*, size_t, const int32_t*, int32_t*,
                        size_t);
// [M]: M activation rows x 1 block, and x 2 blocks.
constexpr TileFn kTiles1[kTileRows + 1] = {nullptr,     &Tile<1, 1>, &Tile<2, 1>, &Tile<3, 1>,
                                           &Tile<4, 1>, &Tile<5, 1>, &Tile<6, 1>};
constexpr TileFn kTiles2[kTileRows + 1] = {nullptr,     &Tile<1, 2>, &Tile<2, 2>, &Tile<3, 2>,
                                           &Tile<4, 2>, &Tile<5, 2>, &Tile<6, 2>};

}  // namespace

size_t UnsignedRowStride(size_t depth) {
  const size_t padded = (depth + kPackedDepth - 1) / kPackedDepth * kPackedDepth;
  return (padded + kRowAlign - 1) / kRowAlign * kRowAlign;
}

LITEQ_VNNI void ShiftRowsToUnsigned(const int8_t* x, size_t ldx, size_t rows, size_t depth,
                                    uint8_t* out) {
  ToUnsigned(x, ldx, rows, depth, UnsignedRowStride(depth), out);
}

LITEQ_VNNI void PackedUint8DotsAvx512Vnni(const PackedInt8Weights& w, const uint8_t* u,
                                          size_t batches, size_t block_begin, size_t block_end,
                                          int32_t* dots, size_t ld_dots) {
  LITEQ_CHECK(block_begin <= block_end && block_end <= w.row_blocks());
  LITEQ_CHECK(w.kept_row_sums() != nullptr);  // kept by Pack when this path can run
  const int32_t* row_sums = w.kept_row_sums()->data();
  // The last block's sums padded with zeros (its rows past rows() are zero weights).
  const size_t full_blocks = w.rows() / kPackedRows;
  alignas(16) int32_t last_sums[kPackedRows] = {};
  for (size_t j = 0; full_blocks * kPackedRows + j < w.rows(); ++j) {
    last_sums[j] = row_sums[full_blocks * kPackedRows + j];
  }
  const size_t chunks = w.chunks();
  const size_t stride = UnsignedRowStride(w.depth());
  // Activation rows outer (a tile's rows stay in L1), blocks inner: the callers keep
  // the block range small when there are many activation rows, so the blocks stay in
  // cache across tiles.
  for (size_t b = 0; b < batches; b += kTileRows) {
    const size_t m = std::min(kTileRows, batches - b);
    const uint8_t* tile_rows = u + b * stride;
    size_t rb = block_begin;
    for (; rb + 2 <= std::min(block_end, full_blocks); rb += 2) {
      kTiles2[m](w.block(rb), chunks, tile_rows, stride, row_sums + rb * kPackedRows,
                 dots + b * ld_dots + (rb - block_begin) * kPackedRows, ld_dots);
    }
    for (; rb < block_end; ++rb) {
      const int32_t* sums = rb < full_blocks ? row_sums + rb * kPackedRows : last_sums;
      kTiles1[m](w.block(rb), chunks, tile_rows, stride, sums,
                 dots + b * ld_dots + (rb - block_begin) * kPackedRows, ld_dots);
    }
  }
}

void PackedInt8DotsAvx512Vnni(const PackedInt8Weights& w, const int8_t* x, size_t ldx,
                              size_t batches, size_t block_begin, size_t block_end, int32_t* dots,
                              size_t ld_dots) {
  const size_t stride = UnsignedRowStride(w.depth());
  // Grows to the largest tile once per thread; no allocation in steady state.
  thread_local std::vector<uint8_t> unsigned_rows;
  if (unsigned_rows.size() < kTileRows * stride) unsigned_rows.resize(kTileRows * stride);
  for (size_t b = 0; b < batches; b += kTileRows) {
    const size_t m = std::min(kTileRows, batches - b);
    ToUnsigned(x + b * ldx, ldx, m, w.depth(), stride, unsigned_rows.data());
    PackedUint8DotsAvx512Vnni(w, unsigned_rows.data(), m, block_begin, block_end,
                              dots + b * ld_dots, ld_dots);
  }
}

bool Int8DotsAvx512VnniSupported() {
  static const bool supported =
      __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0 &&
      __builtin_cpu_supports("avx512vl") != 0 && __builtin_cpu_supports("avx512vnni") != 0;
  return supported;
}

}  // namespace liteq::runtime::quantized

#else  // not x86: the portable code stands in (never selected by BestPackedInt8Dots).

namespace liteq::runtime::quantized {

void PackedInt8DotsAvx512Vnni(const PackedInt8Weights& w, const int8_t* x, size_t ldx,
                              size_t batches, size_t block_begin, size_t block_end, int32_t* dots,
                              size_t ld_dots) {
  PackedInt8DotsPortable(w, x, ldx, batches, block_begin, block_end, dots, ld_dots);
}

bool Int8DotsAvx512VnniSupported() { return false; }

size_t UnsignedRowStride(size_t depth) { return depth; }

void ShiftRowsToUnsigned(const int8_t*, size_t, size_t, size_t, uint8_t*) {
  LITEQ_CHECK(false);  // never called: Int8DotsAvx512VnniSupported() is false
}

void PackedUint8DotsAvx512Vnni(const PackedInt8Weights&, const uint8_t*, size_t, size_t, size_t,
                               int32_t*, size_t) {
  LITEQ_CHECK(false);  // never called: Int8DotsAvx512VnniSupported() is false
}

}  // namespace liteq::runtime::quantized

#endif
