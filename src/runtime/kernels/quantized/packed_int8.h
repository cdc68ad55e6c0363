// Int8 weights [rows, depth] repacked once at Prepare for the fast FULLY_CONNECTED
// kernels (static int8 and hybrid), and the int8 x int8 -> int32 dot products on them.
//
// Two layouts, chosen at Pack for the kernel that will read them:
// - kRows4x32 (AVX2, Highway, portable): rows are grouped in blocks of kPackedRows (4)
//   and depth in chunks of kPackedDepth (32) bytes; a block stores, chunk after chunk,
//   the 32 bytes of each of its 4 rows:
//     block rb = [chunk 0: row 4rb .. 4rb+3] [chunk 1: row 4rb .. 4rb+3] ...
// - kPanels16x4 (AVX-512 VNNI): rows are grouped in panels of kPanelRows (16) and
//   depth in quads of 4 bytes; a panel stores, quad after quad, the 4 bytes of each of
//   its 16 rows (64 bytes: one zmm register, one vpdpbusd advances 16 rows' dots by 4
//   products each, so a dot ends as one int32 lane and needs no horizontal sum):
//     panel p = [quad 0: row 16p .. 16p+15] [quad 1: row 16p .. 16p+15] ...
// Either way a GEMV reads the whole matrix as one sequential stream (the row-major
// layout reads interleaved streams of `depth` bytes, which the hardware prefetchers
// follow badly: measured 7 GB/s against 13-15 GB/s packed on the SmolLM2 decode
// shapes). The depth tail and the rows past the last full block or panel are zero,
// which adds nothing to any dot product, so every load is full. The dots API counts
// rows in blocks of 4 for both layouts.
//
// Memory: the packed copy lives in anonymous memory (transparent huge pages where the
// kernel allows) and replaces the model's weights for these kernels: once packed, the
// source pages of a file mapping are handed back (ReleaseMappedPages), so the process
// does not hold the weights twice. Kernels of several signatures (prefill and decode)
// that read the same constant share one packed copy (SharedPackedInt8Weights).
//
// Exactness: the dots are sums of int8 products modulo 2^32 (int8_dot.h). The AVX2
// code multiplies |x| (as uint8, exact for x = -128) by sign(x) * w with
// _mm256_maddubs_epi16; a pair sum |x0 w0| + |x1 w1| <= 2 * 128 * 127 = 32512 fits
// int16 exactly as long as no weight is -128 (sign(x) * -128 also overflows int8).
// Weights with a -128 (symmetric quantizers never emit it) take the exact widening
// path (_mm256_madd_epi16 on int16) instead; has_int8_min() tells which. The
// Highway path (PackedInt8DotsHwy) always widens to int16, so it needs no such check.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_PACKED_INT8_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_PACKED_INT8_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <type_traits>
#include <vector>

#include "common/file_pages.h"
#include "liteq/status.h"

namespace liteq::runtime::quantized {

inline constexpr size_t kPackedRows = 4;
inline constexpr size_t kPackedDepth = 32;
inline constexpr size_t kPackedChunkBytes = kPackedRows * kPackedDepth;
inline constexpr size_t kPanelRows = 16;
inline constexpr size_t kPanelDepth = 4;
inline constexpr size_t kPanelQuadBytes = kPanelRows * kPanelDepth;

enum class PackedInt8Layout { kRows4x32, kPanels16x4 };

// The layout the kernels BestPackedInt8Dots() chooses read: kPanels16x4 for the
// AVX-512 VNNI kernel, else kRows4x32.
PackedInt8Layout DefaultPackedInt8Layout();

class PackedInt8Weights {
 public:
  // Packs w [rows, depth] (row-major, dense); with release_source, hands back the
  // source's file-mapped pages as they are packed (ReleaseMappedPages).
  static std::unique_ptr<PackedInt8Weights> Pack(
      std::span<const int8_t> w, size_t rows, size_t depth, bool release_source = false,
      PackedInt8Layout layout = DefaultPackedInt8Layout());
  ~PackedInt8Weights();
  PackedInt8Weights(const PackedInt8Weights&) = delete;
  PackedInt8Weights& operator=(const PackedInt8Weights&) = delete;

  size_t rows() const { return rows_; }
  size_t depth() const { return depth_; }
  PackedInt8Layout layout() const { return layout_; }
  size_t chunks() const { return chunks_; }          // ceil(depth / kPackedDepth)
  size_t row_blocks() const { return row_blocks_; }  // ceil(rows / kPackedRows)
  size_t quads() const { return quads_; }            // ceil(depth / kPanelDepth)
  size_t panels() const { return panels_; }          // ceil(rows / kPanelRows)
  // Row ranges that start and end at multiples of this (or at rows()) keep the
  // kernels' tiles whole: 4 rows for kRows4x32, 16 for kPanels16x4.
  size_t row_alignment() const {
    return layout_ == PackedInt8Layout::kPanels16x4 ? kPanelRows : kPackedRows;
  }
  // Some weight is -128 (the maddubs shortcut would saturate).
  bool has_int8_min() const { return has_int8_min_; }
  // sum_d w[r, d] for every row, modulo 2^32 as the reference kernels' int32 row sum
  // (exact below 2^24 columns), read back from the packed layout. Not kept with the
  // weights (SmolLM2-135M: 0.8 MB, issue #6): the static int8 kernels fold them into
  // their bias at Prepare and drop them; the hybrid kernels, which need them at every
  // Eval, share one copy per packed matrix through SharedRowSums().
  std::vector<int32_t> RowSums() const;
  // RowSums() computed once while some caller still holds the result (or kept, see
  // kept_row_sums()). Thread-safe.
  std::shared_ptr<const std::vector<int32_t>> SharedRowSums() const;
  // RowSums(), kept from Pack on for kPanels16x4: the VNNI path needs them at every
  // call (packed_int8_avx512.cc); nullptr otherwise.
  const std::vector<int32_t>* kept_row_sums() const { return kept_row_sums_.get(); }
  // Block rb of kRows4x32, panel p of kPanels16x4 (the kernels check the layout).
  const int8_t* block(size_t row_block) const {
    return data_ + row_block * chunks_ * kPackedChunkBytes;
  }
  const int8_t* panel(size_t p) const { return data_ + p * quads_ * kPanelQuadBytes; }
  size_t packed_bytes() const {
    const Geometry g = geometry();
    return g.groups * g.pieces * g.piece_stride;
  }
  // Row r (depth bytes) read back from the packed layout into dst.
  void CopyRow(size_t r, int8_t* dst) const;
  // The weight w[r, d] read back from the packed layout (tests, reference paths).
  int8_t at(size_t r, size_t d) const { return data_[Offset(r, d)]; }

 private:
  PackedInt8Weights() = default;
  // Both layouts are `groups` runs of `group_rows` rows (blocks or panels), each run
  // `pieces` times `group_rows` pieces of `piece` bytes: a row's pieces lie
  // `piece_stride` bytes apart.
  struct Geometry {
    size_t group_rows, groups, piece, pieces, piece_stride;
  };
  Geometry geometry() const {
    if (layout_ == PackedInt8Layout::kPanels16x4) {
      return {kPanelRows, panels_, kPanelDepth, quads_, kPanelQuadBytes};
    }
    return {kPackedRows, row_blocks_, kPackedDepth, chunks_, kPackedChunkBytes};
  }
  // Where w[r, d] lives in data_.
  size_t Offset(size_t r, size_t d) const {
    const Geometry g = geometry();
    return (r / g.group_rows) * g.pieces * g.piece_stride + (d / g.piece) * g.piece_stride +
           (r % g.group_rows) * g.piece + d % g.piece;
  }
  size_t rows_ = 0, depth_ = 0, chunks_ = 0, row_blocks_ = 0, quads_ = 0, panels_ = 0;
  PackedInt8Layout layout_ = PackedInt8Layout::kRows4x32;
  bool has_int8_min_ = false;
  mutable std::mutex row_sums_mutex_;
  mutable std::weak_ptr<const std::vector<int32_t>> shared_row_sums_;
  std::shared_ptr<const std::vector<int32_t>> kept_row_sums_;
  int8_t* data_ = nullptr;
  size_t mapped_bytes_ = 0;  // of data_ (anonymous mapping), 0 when from operator new
};

// The packed copy of the constant w [rows, depth], shared by every caller that asks
// for the same (address, rows, depth) while one of them still holds it; the first
// caller packs, and when `release_source` hands back the source's file-mapped pages
// (ReleaseMappedPages) while packing. Thread-safe. Constants are immutable for the
// lifetime of the interpreter that owns them, which outlives its kernels and so the
// shared copy.
std::shared_ptr<const PackedInt8Weights> SharedPackedInt8Weights(std::span<const int8_t> w,
                                                                 size_t rows, size_t depth,
                                                                 bool release_source);

// (liteq::ReleaseMappedPages, common/file_pages.h, hands the source's pages back.)
using liteq::ReleaseMappedPages;

// dots[b * ld_dots + (rb - block_begin) * kPackedRows + j] = sum_d x[b, d] * w[4 rb + j, d]
// (modulo 2^32) for b in [0, batches) and row blocks rb in [block_begin, block_end);
// x is [batches, ldx] with `depth` valid bytes per row (never read past them). Rows
// past rows() give 0.
using PackedInt8DotsFn = void (*)(const PackedInt8Weights& w, const int8_t* x, size_t ldx,
                                  size_t batches, size_t block_begin, size_t block_end,
                                  int32_t* dots, size_t ld_dots);

// Every kernel but the VNNI one reads kRows4x32 weights.
void PackedInt8DotsPortable(const PackedInt8Weights& w, const int8_t* x, size_t ldx, size_t batches,
                            size_t block_begin, size_t block_end, int32_t* dots, size_t ld_dots);
// Only callable when Int8DotsAvx2Supported() (int8_dot.h); else the portable code.
void PackedInt8DotsAvx2(const PackedInt8Weights& w, const int8_t* x, size_t ldx, size_t batches,
                        size_t block_begin, size_t block_end, int32_t* dots, size_t ld_dots);
// AVX-512 VNNI (packed_int8_avx512.cc): only callable when Int8DotsAvx512VnniSupported(),
// on kPanels16x4 weights (which keep their row sums).
void PackedInt8DotsAvx512Vnni(const PackedInt8Weights& w, const int8_t* x, size_t ldx,
                              size_t batches, size_t block_begin, size_t block_end, int32_t* dots,
                              size_t ld_dots);
// The CPU has AVX-512 F, BW, VL and VNNI.
bool Int8DotsAvx512VnniSupported();
// PackedInt8DotsAvx512Vnni in two steps, so that callers passing the same activation
// rows for many weight blocks shift them once (BlockedPackedInt8Dots; shifting them
// on every call cost ~10% of SmolLM2's prefill): the rows x [rows, ldx] as
// u = x + 128 (uint8) into out, rows UnsignedRowStride(depth) bytes apart; then the
// dots of those rows, equal to PackedInt8DotsAvx512Vnni's. Same preconditions.
size_t UnsignedRowStride(size_t depth);
void ShiftRowsToUnsigned(const int8_t* x, size_t ldx, size_t rows, size_t depth, uint8_t* out);
// prefetch_next: also bring the next call's weights (the as many panels past these)
// into L2 while these are multiplied; for callers that walk the blocks in order.
void PackedUint8DotsAvx512Vnni(const PackedInt8Weights& w, const uint8_t* u, size_t batches,
                               size_t block_begin, size_t block_end, int32_t* dots, size_t ld_dots,
                               bool prefetch_next);
// Activation rows prepared once per op for the kernel `dots`, so that the row ranges
// of a thread split (each a BlockedPackedInt8Dots call) do not each prepare all of
// them again: the VNNI kernel's rows shifted to uint8, batches x
// UnsignedRowStride(depth) bytes. 0 bytes (nothing to prepare) for the other kernels
// and for a single row.
inline size_t PreparedActivationBytes(const PackedInt8Weights& w, PackedInt8DotsFn dots,
                                      size_t batches) {
  return dots == &PackedInt8DotsAvx512Vnni && batches > 1 ? batches * UnsignedRowStride(w.depth())
                                                          : 0;
}
// Rows [row_begin, row_end) of the dense x [batches, depth] prepared into their place
// in `prepared` (PreparedActivationBytes for all the batches); only when those bytes
// are not 0. Threads may prepare disjoint row ranges.
inline void PrepareActivations(const PackedInt8Weights& w, const int8_t* x, size_t row_begin,
                               size_t row_end, uint8_t* prepared) {
  const size_t depth = w.depth();
  ShiftRowsToUnsigned(x + row_begin * depth, depth, row_end - row_begin, depth,
                      prepared + row_begin * UnsignedRowStride(depth));
}
// Output channel ranges given to BlockedPackedInt8Dots by a thread split start at
// multiples of this: whole register tiles (2 panels of the VNNI kernel for many rows).
inline size_t RowRangeAlignment(const PackedInt8Weights& w, size_t batches) {
  return w.layout() == PackedInt8Layout::kPanels16x4 && batches > 1 ? 2 * kPanelRows
                                                                    : w.row_alignment();
}
// Google Highway (packed_int8_hwy.cc), callable on every CPU: dispatches at run time
// to the best target compiled in and supported (NEON/SVE on ARM, AVX2/SSE4/SSSE3 on
// x86, SCALAR/EMU128 elsewhere). Exact for all int8 (int16 widening multiplies).
void PackedInt8DotsHwy(const PackedInt8Weights& w, const int8_t* x, size_t ldx, size_t batches,
                       size_t block_begin, size_t block_end, int32_t* dots, size_t ld_dots);
// The Highway target (HWY_AVX2, HWY_NEON, ...) PackedInt8DotsHwy runs on now (tests
// that force each target with hwy::SetSupportedTargetsForTest check this).
int64_t PackedInt8DotsHwyTarget();
// That target has SIMD: it is neither HWY_SCALAR nor HWY_EMU128 (lanes emulated in
// C++), where the plain loops of PackedInt8DotsPortable, which the compiler
// vectorizes for its baseline, are faster (x86-64: 9-14 GOPS against 4-6 for SCALAR).
bool PackedInt8DotsHwyHasSimd();
// PackedInt8DotsAvx512Vnni when Int8DotsAvx512VnniSupported(), else PackedInt8DotsAvx2
// when Int8DotsAvx2Supported(), else PackedInt8DotsHwy when PackedInt8DotsHwyHasSimd()
// (NEON/SVE on ARM, SSE4/SSSE3 on x86 without AVX2), else PackedInt8DotsPortable. The
// environment variable LITEQ_INT8_DOTS (read once, at the first call) overrides the
// choice for tests and benchmarks: "hwy" (e.g. to run the ARM path's code on x86
// models), "portable", "avx2" or "avx512vnni" (each honoured only when the CPU has
// it); any other value is reported on stderr and ignored.
PackedInt8DotsFn BestPackedInt8Dots();
// The kernel for weights in `layout`: BestPackedInt8Dots() when it reads that layout,
// else the best kRows4x32 kernel (kPanels16x4 needs AVX-512 VNNI).
PackedInt8DotsFn PackedInt8DotsFor(PackedInt8Layout layout);
PackedInt8Layout PackedInt8LayoutFor(PackedInt8DotsFn dots);

// Calls epilogue(b, r0, count, dots) with dots[i] = the dot of activation row b and
// weight row r0 + i, i < count (or, for an epilogue taking a block, epilogue(b0, nb,
// r0, count, dots, ld) with the dots of rows b0 + j at dots + j * ld, j < nb),
// covering every b in [0, batches) of the dense
// x [batches, depth] and r in [r_begin, r_end) once, in blocks whose dots go
// through a stack buffer. Weight rows are the outer loop so the weights stream from
// memory once; a 16-row block (32 rows, two panels, for kPanels16x4; a few KB) stays
// in cache while up to 64 activation rows pass over it.
// `prepared`: x prepared by PrepareActivations when PreparedActivationBytes is not 0,
// or nullptr (then prepared here, per call).
template <typename Epilogue>
void BlockedPackedInt8Dots(const PackedInt8Weights& w, const int8_t* x, size_t batches,
                           size_t r_begin, size_t r_end, PackedInt8DotsFn dots, Epilogue&& epilogue,
                           const uint8_t* prepared = nullptr) {
  constexpr size_t kMaxRowBlock = 2 * kPanelRows;  // a multiple of kPackedRows
  constexpr size_t kBatchBlock = 64;
  LITEQ_CHECK(r_begin <= r_end && r_end <= w.rows());
  int32_t buffer[kMaxRowBlock * kBatchBlock];
  // The VNNI kernel's activations shifted to uint8 once per op or here, not per call.
  const size_t prepared_bytes = PreparedActivationBytes(w, dots, batches);
  const size_t stride = prepared_bytes != 0 ? UnsignedRowStride(w.depth()) : 0;
  if (prepared_bytes != 0 && prepared == nullptr) {
    thread_local std::vector<uint8_t> shifted;  // grows once per thread, then reused
    if (shifted.size() < prepared_bytes) shifted.resize(prepared_bytes);
    PrepareActivations(w, x, 0, batches, shifted.data());
    prepared = shifted.data();
  }
  const size_t align = w.row_alignment();
  const size_t tile_rows = align == kPanelRows ? kMaxRowBlock : kMaxRowBlock / 2;
  // One activation row (a decode GEMV) reuses no weights: the whole buffer serves one
  // row of dots, so the dots and the epilogue are called per 1024 or 2048 rows.
  const size_t row_block = batches == 1 ? tile_rows * kBatchBlock : tile_rows;
  // Start at the tile holding r_begin; rows before r_begin are computed, not used.
  for (size_t r0 = r_begin / align * align; r0 < r_end; r0 += row_block) {
    const size_t r1 = r_end - r0 < row_block ? r_end : r0 + row_block;
    const size_t block_begin = r0 / kPackedRows;
    const size_t block_end = (r1 + kPackedRows - 1) / kPackedRows;
    for (size_t b0 = 0; b0 < batches; b0 += kBatchBlock) {
      const size_t nb = batches - b0 < kBatchBlock ? batches - b0 : kBatchBlock;
      if (prepared_bytes != 0) {
        PackedUint8DotsAvx512Vnni(w, prepared + b0 * stride, nb, block_begin, block_end, buffer,
                                  row_block, /*prefetch_next=*/b0 == 0);
      } else {
        dots(w, x + b0 * w.depth(), w.depth(), nb, block_begin, block_end, buffer, row_block);
      }
      const size_t first = r0 < r_begin ? r_begin : r0;
      if constexpr (std::is_invocable_v<Epilogue, size_t, size_t, size_t, size_t, const int32_t*,
                                        size_t>) {
        // A block epilogue takes the tile's rows at once.
        epilogue(b0, nb, first, r1 - first, buffer + (first - r0), row_block);
      } else {
        for (size_t b = 0; b < nb; ++b) {
          epilogue(b0 + b, first, r1 - first, buffer + b * row_block + (first - r0));
        }
      }
    }
  }
}

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_PACKED_INT8_H_
