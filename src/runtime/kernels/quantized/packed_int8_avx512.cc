// AVX-512 VNNI dot products on kPanels16x4 packed int8 weights (packed_int8.h).
// Compiled for generic x86-64: only LITEQ_VNNI functions use AVX-512, and
// PackedInt8DotsAvx512Vnni is called only after Int8DotsAvx512VnniSupported()
// (runtime dispatch).
//
// vpdpbusd multiplies unsigned by signed bytes and adds each 4 products to an int32
// lane without saturation. The activations are signed, so each row is shifted once
// per call to u = x + 128 (x XOR 0x80, as uint8) and the shift is taken back out with
// the weights' row sums, kept with the packed weights (PackedInt8Weights::kept_row_sums):
//   sum_d u[d] w[d] = sum_d x[d] w[d] + 128 * sum_d w[d]   (modulo 2^32, exact)
// The weights' zero padding (depth tail, rows past rows()) multiplies whatever u holds
// there into 0 and adds nothing to the row sums, so padded dots stay exact too.
//
// One quad of a panel (16 rows x 4 bytes) is one zmm register; the activation row's 4
// bytes at that depth are broadcast to all 16 lanes, so one vpdpbusd advances the 16
// rows' dots and each dot ends in its own lane: no horizontal sums (the 4-rows x
// 32-bytes layout this replaced spent ~30% of a tile reducing them at depth 576).
// Register tiles: up to kTileRows activation rows x 2 panels (16 accumulators), so each
// weight load serves kTileRows rows and 16 independent vpdpbusd chains hide its
// latency (5 cycles at 2 per cycle); a single row (decode GEMV) takes 4 panels at once.
// Measured on SmolLM2/TinyLlama shapes, 1 thread, 120 rows: 690-730 GOPS, 92-97% of
// the vpdpbusd peak, against 490-600 for the 4 x 32 tiles.
#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/kernels/quantized/packed_int8.h"

#if defined(__x86_64__) || defined(__i386__)
#include "runtime/kernels/quantized/avx512_intrinsics.h"

namespace liteq::runtime::quantized {
namespace {

constexpr size_t kTileRows = 8;
constexpr size_t kRowAlign = 64;

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

// The dots of M activation rows (u, row stride ldu) with the 16 N rows of the N
// consecutive panels at `pw` (panel_bytes apart), over `quads` quads from there, into
// out[m * ld_out + 16 n + lane]: stored less 128 * the row sums (sums: the panels'
// 16 N weight row sums) when kFirst, else added to what is there (the later depth
// slices). The stores stay plain: with a masked edge case here GCC kept the
// accumulators on the stack.
// With kPrefetch, every kPrefetchEvery-th quad also asks for one quad of each of the
// N panels at `next` (PREFETCHT1, into L2), quads [0, next_quads) in order: a share of
// the next weight block, which then arrives while this one is multiplied. SmolLM2's
// matrices streamed cold ran at 390-410 GOPS against 660-680 from L2.
constexpr size_t kPrefetchEvery = 8;
template <size_t M, size_t N, bool kFirst, bool kPrefetch = false>
LITEQ_VNNI void Tile(const int8_t* pw, size_t quads, size_t panel_bytes, const uint8_t* u,
                     size_t ldu, const int32_t* sums, int32_t* out, size_t ld_out,
                     const int8_t* next = nullptr, size_t next_quads = 0) {
  __m512i acc[M][N];
#pragma GCC unroll 8
  for (size_t m = 0; m < M; ++m) {
#pragma GCC unroll 4
    for (size_t n = 0; n < N; ++n) acc[m][n] = _mm512_setzero_si512();
  }
  for (size_t q = 0; q < quads; ++q) {
    __m512i w[N];
#pragma GCC unroll 4
    for (size_t n = 0; n < N; ++n) w[n] = Load64(pw + n * panel_bytes + q * kPanelQuadBytes);
    if constexpr (kPrefetch) {
      if (q % kPrefetchEvery == 0) {
        const size_t at = std::min(q / kPrefetchEvery, next_quads - 1) * kPanelQuadBytes;
#pragma GCC unroll 4
        for (size_t n = 0; n < N; ++n) {
          _mm_prefetch(reinterpret_cast<const char*>(next + n * panel_bytes + at), _MM_HINT_T1);
        }
      }
    }
#pragma GCC unroll 8
    for (size_t m = 0; m < M; ++m) {
      int32_t four;
      std::memcpy(&four, u + m * ldu + q * kPanelDepth, sizeof(four));
      const __m512i xv = _mm512_set1_epi32(four);
#pragma GCC unroll 4
      for (size_t n = 0; n < N; ++n) DotAccumulate(acc[m][n], xv, w[n]);
    }
  }
#pragma GCC unroll 4
  for (size_t n = 0; n < N; ++n) {
    __m512i shift;
    std::memcpy(&shift, sums + n * kPanelRows, sizeof(shift));
    shift = _mm512_slli_epi32(shift, 7);  // 128 * row sum, wrapping like the lanes
#pragma GCC unroll 8
    for (size_t m = 0; m < M; ++m) {
      int32_t* o = out + m * ld_out + n * kPanelRows;
      const __m512i v = kFirst ? _mm512_sub_epi32(acc[m][n], shift)
                               : _mm512_add_epi32(_mm512_loadu_si512(o), acc[m][n]);
      _mm512_storeu_si512(o, v);
    }
  }
}

using TileFn = void (*)(const int8_t*, size_t, size_t, const uint8_t*, size_t, const int32_t*,
                        int32_t*, size_t, const int8_t*, size_t);
// [first slice][M]: M activation rows x 1 panel, x 2 panels.
template <size_t N, bool kFirst>
constexpr TileFn kTilesOf[kTileRows + 1] = {nullptr,
                                            &Tile<1, N, kFirst>,
                                            &Tile<2, N, kFirst>,
                                            &Tile<3, N, kFirst>,
                                            &Tile<4, N, kFirst>,
                                            &Tile<5, N, kFirst>,
                                            &Tile<6, N, kFirst>,
                                            &Tile<7, N, kFirst>,
                                            &Tile<8, N, kFirst>};
constexpr const TileFn* kTiles1[2] = {kTilesOf<1, false>, kTilesOf<1, true>};
constexpr const TileFn* kTiles2[2] = {kTilesOf<2, false>, kTilesOf<2, true>};
// [first slice][panels - 1]: a full tile of rows that also prefetches its share of the
// next panels.
constexpr TileFn kPrefetchingTiles[2][2] = {
    {&Tile<kTileRows, 1, false, true>, &Tile<kTileRows, 2, false, true>},
    {&Tile<kTileRows, 1, true, true>, &Tile<kTileRows, 2, true, true>}};

// Depth slice for many activation rows: 2 panels x 192 quads = 24 KB of weights,
// which stay in L1 (48 KB) while every tile of rows passes over them. Over the whole
// depth, TinyLlama's 2048- and 5632-deep panels (64-180 KB a pair) came from L2 for
// every tile: 420-440 GOPS against 650+ for SmolLM2's 576.
constexpr size_t kSliceQuads = 192;

}  // namespace

size_t UnsignedRowStride(size_t depth) {
  const size_t padded = (depth + kPanelDepth - 1) / kPanelDepth * kPanelDepth;
  return (padded + kRowAlign - 1) / kRowAlign * kRowAlign;
}

LITEQ_VNNI void ShiftRowsToUnsigned(const int8_t* x, size_t ldx, size_t rows, size_t depth,
                                    uint8_t* out) {
  ToUnsigned(x, ldx, rows, depth, UnsignedRowStride(depth), out);
}

LITEQ_VNNI void PackedUint8DotsAvx512Vnni(const PackedInt8Weights& w, const uint8_t* u,
                                          size_t batches, size_t block_begin, size_t block_end,
                                          int32_t* dots, size_t ld_dots, bool prefetch_next) {
  LITEQ_CHECK(block_begin <= block_end && block_end <= w.row_blocks());
  LITEQ_CHECK(w.layout() == PackedInt8Layout::kPanels16x4);
  LITEQ_CHECK(w.kept_row_sums() != nullptr);  // kept by Pack for this layout
  if (block_begin == block_end) return;
  const int32_t* row_sums = w.kept_row_sums()->data();
  // The last panel's sums padded with zeros (its rows past rows() are zero weights).
  const size_t full_panels = w.rows() / kPanelRows;
  alignas(64) int32_t last_sums[kPanelRows] = {};
  for (size_t j = 0; full_panels * kPanelRows + j < w.rows(); ++j) {
    last_sums[j] = row_sums[full_panels * kPanelRows + j];
  }
  const size_t quads = w.quads();
  const size_t panel_bytes = quads * kPanelQuadBytes;
  const size_t stride = UnsignedRowStride(w.depth());
  const size_t row_begin = block_begin * kPackedRows;
  const size_t row_end = block_end * kPackedRows;  // may pass rows(): those dots are 0
  const size_t panel_begin = row_begin / kPanelRows;
  const size_t panel_end = (row_end + kPanelRows - 1) / kPanelRows;
  const auto sums_at = [&](size_t p) {
    return p < full_panels ? row_sums + p * kPanelRows : last_sums;
  };
  // Column of the caller's range [0, width) where panel p's row 0 lands; panels at the
  // ends of the range may start before it or run past it.
  const auto width = static_cast<ptrdiff_t>(row_end - row_begin);
  const auto col = [&](size_t p) {
    return static_cast<ptrdiff_t>(p * kPanelRows) - static_cast<ptrdiff_t>(row_begin);
  };
  // Depth slices of about kSliceQuads (equal sizes); one for a single row (a decode
  // GEMV reuses no weights).
  const size_t slices =
      batches > 1 ? std::max<size_t>(1, (quads + kSliceQuads - 1) / kSliceQuads) : 1;
  const size_t slice_quads = std::max<size_t>(1, (quads + slices - 1) / slices);
  // Tiles whose columns are all in the caller's range go straight into dots, slice by
  // slice. The others (at the ends of the range) run over the whole depth into `edge`
  // and keep the columns in range.
  alignas(64) int32_t edge[kTileRows * 4 * kPanelRows];
  // The panels as many past these as the call covers: the next call's, when asked to
  // prefetch them (prefetch_next) and they exist.
  const size_t next_offset = panel_end - panel_begin;
  const auto run = [&](const TileFn* tiles, size_t m, size_t n, size_t p, const uint8_t* rows,
                       int32_t* out, size_t q0, size_t row_tile) {
    const ptrdiff_t c0 = col(p);
    const auto tile_width = static_cast<ptrdiff_t>(n * kPanelRows);
    const size_t nq = std::min(slice_quads, quads - q0);  // q0 < quads, or both 0
    if (c0 >= 0 && c0 + tile_width <= width) {
      TileFn tile = tiles[m];
      const int8_t* next = nullptr;
      size_t next_quads = 0;
      // Full tiles of rows ask for the next call's panels, each for its share of this
      // slice's quads (kTileRows shares: 64 rows in tiles of 8), spread over its loop
      // so that the requests trickle out at about the rate memory serves them.
      const size_t share = (nq + kTileRows - 1) / kTileRows;
      if (prefetch_next && m == kTileRows && n <= 2 && row_tile * share < nq &&
          p + next_offset + n <= w.panels()) {
        tile = kPrefetchingTiles[q0 == 0][n - 1];
        next = w.panel(p + next_offset) + (q0 + row_tile * share) * kPanelQuadBytes;
        next_quads = std::min(share, nq - row_tile * share);
      }
      tile(w.panel(p) + q0 * kPanelQuadBytes, nq, panel_bytes, rows + q0 * kPanelDepth, stride,
           sums_at(p), out + c0, ld_dots, next, next_quads);
      return;
    }
    if (q0 != 0) return;  // done over the whole depth with the first slice
    tiles[m](w.panel(p), quads, panel_bytes, rows, stride, sums_at(p), edge, n * kPanelRows,
             nullptr, 0);
    const ptrdiff_t lo = std::max<ptrdiff_t>(0, -c0);
    const ptrdiff_t hi = std::min(tile_width, width - c0);
    for (size_t r = 0; r < m; ++r) {
      std::memcpy(out + (r * ld_dots + static_cast<size_t>(c0 + lo)),
                  edge + r * n * kPanelRows + lo, static_cast<size_t>(hi - lo) * sizeof(int32_t));
    }
  };
  // [first slice][m = 1]: a single row x 4 panels.
  static constexpr TileFn kGemvFirst[2] = {nullptr, &Tile<1, 4, true>};
  static constexpr TileFn kGemvLater[2] = {nullptr, &Tile<1, 4, false>};
  static constexpr const TileFn* kGemv[2] = {kGemvLater, kGemvFirst};
  // Depth slices outer, activation rows, then panels inner: the callers keep the panel
  // range small when there are many activation rows, so a slice of the panels stays
  // in L1 across the tiles of rows.
  // (Depth 0 still runs one empty slice: its dots are 0.)
  for (size_t q0 = 0; q0 == 0 || q0 < quads; q0 += slice_quads) {
    const bool first = q0 == 0;
    for (size_t b = 0; b < batches; b += kTileRows) {
      const size_t m = std::min(kTileRows, batches - b);
      const uint8_t* tile_rows = u + b * stride;
      int32_t* out = dots + b * ld_dots;
      size_t p = panel_begin;
      // A single row (decode) runs 4 panels at once for 4 independent chains.
      for (; m == 1 && p + 4 <= std::min(panel_end, full_panels); p += 4) {
        run(kGemv[first], m, 4, p, tile_rows, out, q0, 0);
      }
      for (; p + 2 <= std::min(panel_end, full_panels); p += 2) {
        run(kTiles2[first], m, 2, p, tile_rows, out, q0, b / kTileRows);
      }
      for (; p < panel_end; ++p) run(kTiles1[first], m, 1, p, tile_rows, out, q0, b / kTileRows);
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
                              dots + b * ld_dots, ld_dots, /*prefetch_next=*/false);
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
                               int32_t*, size_t, bool) {
  LITEQ_CHECK(false);  // never called: Int8DotsAvx512VnniSupported() is false
}

}  // namespace liteq::runtime::quantized

#endif
