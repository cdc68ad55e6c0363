// Packing, the shared packed copies, page release and the portable packed dots.
#include "runtime/kernels/quantized/packed_int8.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <tuple>

#include "runtime/kernels/quantized/int8_dot.h"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace liteq::runtime::quantized {
namespace {

// Zeroed memory for `bytes`: an anonymous mapping (huge pages where the kernel
// allows, fewer TLB misses while streaming the weights) on Linux, else the heap.
int8_t* AllocateZeroed(size_t bytes, size_t* mapped_bytes) {
  *mapped_bytes = 0;
#if defined(__linux__)
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t size = (std::max<size_t>(bytes, 1) + page - 1) / page * page;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) {
#if defined(MADV_HUGEPAGE)
    if (size >= (size_t{2} << 20)) ::madvise(p, size, MADV_HUGEPAGE);  // advisory only
#endif
    *mapped_bytes = size;
    return static_cast<int8_t*>(p);
  }
#endif
  auto* heap =
      static_cast<int8_t*>(::operator new(std::max<size_t>(bytes, 1), std::align_val_t(64)));
  std::memset(heap, 0, std::max<size_t>(bytes, 1));
  return heap;
}

// src [depth] to dst in pieces of kPiece bytes, piece_stride apart (a packed row). The
// fixed-size copies are plain moves; a variable size per 4-byte piece made packing
// TinyLlama's 1.1 GB take seconds.
template <size_t kPiece>
void CopyPieces(const int8_t* src, size_t depth, int8_t* dst, size_t piece_stride) {
  size_t d = 0;
  for (; d + kPiece <= depth; d += kPiece, dst += piece_stride) std::memcpy(dst, src + d, kPiece);
  if (d < depth) std::memcpy(dst, src + d, depth - d);
}

using CacheKey = std::tuple<const void*, size_t, size_t>;

std::mutex& CacheMutex() {
  static std::mutex mu;
  return mu;
}
std::map<CacheKey, std::weak_ptr<const PackedInt8Weights>>& Cache() {
  static std::map<CacheKey, std::weak_ptr<const PackedInt8Weights>> cache;
  return cache;
}

}  // namespace

std::unique_ptr<PackedInt8Weights> PackedInt8Weights::Pack(std::span<const int8_t> w, size_t rows,
                                                           size_t depth, bool release_source,
                                                           PackedInt8Layout layout) {
  LITEQ_CHECK(w.size() == rows * depth);
  std::unique_ptr<PackedInt8Weights> p(new PackedInt8Weights());
  p->rows_ = rows;
  p->depth_ = depth;
  p->layout_ = layout;
  p->chunks_ = (depth + kPackedDepth - 1) / kPackedDepth;
  p->row_blocks_ = (rows + kPackedRows - 1) / kPackedRows;
  p->quads_ = (depth + kPanelDepth - 1) / kPanelDepth;
  p->panels_ = (rows + kPanelRows - 1) / kPanelRows;
  p->data_ = AllocateZeroed(p->packed_bytes(), &p->mapped_bytes_);
  const bool panels = layout == PackedInt8Layout::kPanels16x4;
  const size_t piece_stride = p->geometry().piece_stride;
  bool has_min = false;
  // With release_source, the source is handed back every kReleaseBytes as packing
  // goes, so the source and the packed copy of a large tensor (the 28 MB lm_head of
  // SmolLM2) are never resident together: peak RSS stays at about one copy.
  constexpr size_t kReleaseBytes = size_t{1} << 20;
  size_t released_up_to = 0;
  for (size_t r = 0; r < rows; ++r) {
    if (release_source && (r * depth) - released_up_to >= kReleaseBytes) {
      ReleaseMappedPages(w.data() + released_up_to, r * depth - released_up_to);
      released_up_to = r * depth;
    }
    const int8_t* src = w.data() + r * depth;
    int8_t* dst = p->data_ + p->Offset(r, 0);
    if (panels) {
      CopyPieces<kPanelDepth>(src, depth, dst, piece_stride);
    } else {
      CopyPieces<kPackedDepth>(src, depth, dst, piece_stride);
    }
    int row_min = 0;
    for (size_t d = 0; d < depth; ++d) row_min = std::min<int>(row_min, src[d]);
    has_min = has_min || row_min == -128;
  }
  p->has_int8_min_ = has_min;
  if (panels) p->kept_row_sums_ = std::make_shared<const std::vector<int32_t>>(p->RowSums());
  // Everything, including the pages that straddled two slices.
  if (release_source) ReleaseMappedPages(w.data(), w.size());
  return p;
}

PackedInt8Weights::~PackedInt8Weights() {
#if defined(__linux__)
  if (mapped_bytes_ != 0) {
    ::munmap(data_, mapped_bytes_);
    return;
  }
#endif
  ::operator delete(data_, std::align_val_t(64));
}

std::shared_ptr<const PackedInt8Weights> SharedPackedInt8Weights(std::span<const int8_t> w,
                                                                 size_t rows, size_t depth,
                                                                 bool release_source) {
  std::lock_guard<std::mutex> lock(CacheMutex());
  auto& cache = Cache();
  std::erase_if(cache, [](const auto& entry) { return entry.second.expired(); });
  const CacheKey key{w.data(), rows, depth};
  if (auto it = cache.find(key); it != cache.end()) {
    if (auto shared = it->second.lock()) return shared;
  }
  std::shared_ptr<const PackedInt8Weights> packed =
      PackedInt8Weights::Pack(w, rows, depth, release_source);
  cache[key] = packed;
  return packed;
}

std::vector<int32_t> PackedInt8Weights::RowSums() const {
  // Wrapping uint32 sums equal the int64 sums modulo 2^32; the zero padding (depth
  // tail, rows past rows_) adds nothing.
  const Geometry g = geometry();
  const size_t rows_per = g.group_rows, piece = g.piece;
  std::vector<int32_t> sums(rows_);
  std::vector<uint32_t> acc(rows_per);
  for (size_t group = 0; group < g.groups; ++group) {
    std::fill(acc.begin(), acc.end(), 0u);
    const int8_t* src = data_ + Offset(group * rows_per, 0);
    for (size_t k = 0; k < g.pieces; ++k) {
      for (size_t j = 0; j < rows_per; ++j, src += piece) {
        int32_t piece_sum = 0;  // |piece_sum| <= 32 * 128: exact
        for (size_t i = 0; i < piece; ++i) piece_sum += src[i];
        acc[j] += static_cast<uint32_t>(piece_sum);
      }
    }
    for (size_t j = 0; j < rows_per && group * rows_per + j < rows_; ++j) {
      sums[group * rows_per + j] = static_cast<int32_t>(acc[j]);
    }
  }
  return sums;
}

std::shared_ptr<const std::vector<int32_t>> PackedInt8Weights::SharedRowSums() const {
  if (kept_row_sums_ != nullptr) return kept_row_sums_;
  std::lock_guard<std::mutex> lock(row_sums_mutex_);
  std::shared_ptr<const std::vector<int32_t>> sums = shared_row_sums_.lock();
  if (sums == nullptr) {
    sums = std::make_shared<const std::vector<int32_t>>(RowSums());
    shared_row_sums_ = sums;
  }
  return sums;
}

void PackedInt8Weights::CopyRow(size_t r, int8_t* dst) const {
  LITEQ_CHECK(r < rows_);
  const Geometry g = geometry();
  const int8_t* src = data_ + Offset(r, 0);
  for (size_t d = 0; d < depth_; d += g.piece, src += g.piece_stride) {
    std::memcpy(dst + d, src, std::min(g.piece, depth_ - d));
  }
}

void PackedInt8DotsPortable(const PackedInt8Weights& w, const int8_t* x, size_t ldx, size_t batches,
                            size_t block_begin, size_t block_end, int32_t* dots, size_t ld_dots) {
  LITEQ_CHECK(block_begin <= block_end && block_end <= w.row_blocks());
  LITEQ_CHECK(w.layout() == PackedInt8Layout::kRows4x32);
  const size_t depth = w.depth();
  for (size_t b = 0; b < batches; ++b) {
    const int8_t* xb = x + b * ldx;
    for (size_t rb = block_begin; rb < block_end; ++rb) {
      const int8_t* blk = w.block(rb);
      uint32_t sums[kPackedRows] = {};  // wraps modulo 2^32 like the SIMD lanes
      for (size_t k = 0; k < w.chunks(); ++k) {
        const size_t d0 = k * kPackedDepth;
        const size_t n = std::min(kPackedDepth, depth - d0);
        for (size_t j = 0; j < kPackedRows; ++j) {
          const int8_t* wj = blk + k * kPackedChunkBytes + j * kPackedDepth;
          for (size_t i = 0; i < n; ++i) {
            sums[j] += static_cast<uint32_t>(static_cast<int32_t>(xb[d0 + i]) * wj[i]);
          }
        }
      }
      for (size_t j = 0; j < kPackedRows; ++j) {
        dots[b * ld_dots + (rb - block_begin) * kPackedRows + j] = static_cast<int32_t>(sums[j]);
      }
    }
  }
}

namespace {

// The best kernel on kRows4x32 weights for this CPU.
PackedInt8DotsFn BestRows4x32Dots() {
  return Int8DotsAvx2Supported()      ? &PackedInt8DotsAvx2
         : PackedInt8DotsHwyHasSimd() ? &PackedInt8DotsHwy
                                      : &PackedInt8DotsPortable;
}

PackedInt8DotsFn ChoosePackedInt8Dots() {
  const PackedInt8DotsFn best =
      Int8DotsAvx512VnniSupported() ? &PackedInt8DotsAvx512Vnni : BestRows4x32Dots();
  const char* env = std::getenv("LITEQ_INT8_DOTS");
  if (env == nullptr || *env == '\0') return best;
  const std::string choice(env);
  if (choice == "hwy") return &PackedInt8DotsHwy;
  if (choice == "portable") return &PackedInt8DotsPortable;
  if (choice == "avx2" && Int8DotsAvx2Supported()) return &PackedInt8DotsAvx2;
  if (choice == "avx512vnni" && Int8DotsAvx512VnniSupported()) return &PackedInt8DotsAvx512Vnni;
  std::fprintf(stderr,
               "liteq: LITEQ_INT8_DOTS=%s ignored (hwy, portable, or avx2 / avx512vnni on a CPU "
               "that has it)\n",
               env);
  return best;
}

}  // namespace

PackedInt8DotsFn BestPackedInt8Dots() {
  static const PackedInt8DotsFn chosen = ChoosePackedInt8Dots();
  return chosen;
}

PackedInt8Layout PackedInt8LayoutFor(PackedInt8DotsFn dots) {
  return dots == &PackedInt8DotsAvx512Vnni ? PackedInt8Layout::kPanels16x4
                                           : PackedInt8Layout::kRows4x32;
}

PackedInt8Layout DefaultPackedInt8Layout() { return PackedInt8LayoutFor(BestPackedInt8Dots()); }

PackedInt8DotsFn PackedInt8DotsFor(PackedInt8Layout layout) {
  const PackedInt8DotsFn best = BestPackedInt8Dots();
  if (PackedInt8LayoutFor(best) == layout) return best;
  if (layout == PackedInt8Layout::kPanels16x4) {
    LITEQ_CHECK(Int8DotsAvx512VnniSupported());
    return &PackedInt8DotsAvx512Vnni;
  }
  return BestRows4x32Dots();
}

}  // namespace liteq::runtime::quantized
