// Packed int8 weights (packed_int8.h): the layout reads back every weight, the row
// sums are exact, the portable and AVX2 packed dot products equal the naive int64
// sums for shapes whose depth is not a multiple of the 32-byte chunk and whose rows
// are not a multiple of the 4-row block, for 1, 2, 3 and 65 activation rows, with
// and without -128 weights (the AVX2 shortcut's one inexact case, which must take
// the widening path); the shared copy is shared; released file pages read back the
// same bytes and heap memory is never released.
#include "runtime/kernels/quantized/packed_int8.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "packed_int8_cases.h"  // (this directory)
#include "runtime/kernels/quantized/int8_dot.h"

namespace liteq::runtime::quantized {
namespace {

struct Case {
  size_t batches, depth, rows;
};
const Case kCases[] = {{1, 1, 1},    {1, 32, 4}, {2, 33, 5},   {3, 31, 7},  {65, 100, 9},
                       {1, 576, 13}, {2, 64, 3}, {3, 95, 17},  {65, 33, 2}, {1, 1536, 6},
                       {4, 0, 5},    {1, 7, 0},  {2, 200, 64}, {3, 47, 1}};

std::vector<std::pair<Case, PackedInt8Layout>> AllLayouts() {
  std::vector<std::pair<Case, PackedInt8Layout>> all;
  for (const Case& c : kCases) {
    for (auto layout : {PackedInt8Layout::kRows4x32, PackedInt8Layout::kPanels16x4}) {
      all.emplace_back(c, layout);
    }
  }
  all.emplace_back(Case{1, 9, 33}, PackedInt8Layout::kPanels16x4);  // 3 panels, the last partial
  return all;
}

TEST(PackedInt8Test, LayoutAndRowSums) {
  std::mt19937 rng(11);
  for (const auto& [c, layout] : AllLayouts()) {
    SCOPED_TRACE(std::to_string(c.depth) + "x" + std::to_string(c.rows) +
                 (layout == PackedInt8Layout::kPanels16x4 ? " panels" : " 4x32"));
    const auto w = RandomInt8(c.rows * c.depth, rng, -128, 127);
    const auto packed = PackedInt8Weights::Pack(w, c.rows, c.depth, false, layout);
    ASSERT_EQ(packed->layout(), layout);
    ASSERT_EQ(packed->rows(), c.rows);
    ASSERT_EQ(packed->depth(), c.depth);
    bool has_min = false;
    const std::vector<int32_t> row_sums = packed->RowSums();
    ASSERT_EQ(row_sums.size(), c.rows);
    for (size_t r = 0; r < c.rows; ++r) {
      int64_t sum = 0;
      for (size_t d = 0; d < c.depth; ++d) {
        ASSERT_EQ(packed->at(r, d), w[r * c.depth + d]) << "r " << r << " d " << d;
        sum += w[r * c.depth + d];
        has_min = has_min || w[r * c.depth + d] == -128;
      }
      ASSERT_EQ(row_sums[r], static_cast<int32_t>(static_cast<uint32_t>(sum)));
    }
    EXPECT_EQ(packed->has_int8_min(), has_min);
    // The padding (depth tail, rows past the last) is zero, and CopyRow reads rows back.
    const bool panels = layout == PackedInt8Layout::kPanels16x4;
    const size_t padded_rows = panels ? packed->panels() * kPanelRows : c.rows;
    const size_t padded_depth = panels ? packed->quads() * kPanelDepth : c.depth;
    EXPECT_EQ(packed->packed_bytes(),
              panels ? padded_rows * padded_depth
                     : packed->row_blocks() * packed->chunks() * kPackedChunkBytes);
    for (size_t r = 0; r < std::max(padded_rows, packed->row_blocks() * kPackedRows); ++r) {
      for (size_t d = 0; d < (panels ? padded_depth : packed->chunks() * kPackedDepth); ++d) {
        if (r >= c.rows || d >= c.depth) {
          ASSERT_EQ(packed->at(r, d), 0);
        }
      }
    }
    std::vector<int8_t> row(c.depth + 1, 77);
    for (size_t r = 0; r < c.rows; ++r) {
      packed->CopyRow(r, row.data());
      ASSERT_TRUE(std::equal(row.begin(), row.end() - 1, w.begin() + r * c.depth)) << "row " << r;
      ASSERT_EQ(row.back(), 77) << "CopyRow wrote past the row";
    }
  }
}

void CheckDots(PackedInt8DotsFn fn, const Case& c, int w_lo, std::mt19937& rng) {
  auto x = RandomInt8(c.batches * c.depth, rng, -128, 127);
  auto w = RandomInt8(c.rows * c.depth, rng, w_lo, 127);
  // Extremes: |x| = 128 against w = +-127 (the largest exact maddubs pair) and, when
  // allowed, -128 * -128.
  for (size_t i = 0; i < x.size(); i += 3) x[i] = -128;
  for (size_t i = 0; i < w.size(); i += 5) w[i] = static_cast<int8_t>(i % 2 ? 127 : w_lo);
  const auto packed = PackedInt8Weights::Pack(w, c.rows, c.depth, false, PackedInt8LayoutFor(fn));
  const size_t ld = packed->row_blocks() * kPackedRows + 3;
  std::vector<int32_t> dots(c.batches * ld, 12345);
  fn(*packed, x.data(), c.depth, c.batches, 0, packed->row_blocks(), dots.data(), ld);
  for (size_t b = 0; b < c.batches; ++b) {
    for (size_t r = 0; r < packed->row_blocks() * kPackedRows; ++r) {
      int64_t expected = 0;
      for (size_t d = 0; r < c.rows && d < c.depth; ++d) {
        expected += int64_t{x[b * c.depth + d]} * w[r * c.depth + d];
      }
      ASSERT_EQ(dots[b * ld + r], expected) << "b " << b << " r " << r;
    }
    for (size_t r = packed->row_blocks() * kPackedRows; r < ld; ++r) {
      ASSERT_EQ(dots[b * ld + r], 12345) << "wrote past the blocks";
    }
  }
  // A block range that starts inside the matrix.
  if (packed->row_blocks() >= 2) {
    std::vector<int32_t> part(c.batches * kPackedRows);
    fn(*packed, x.data(), c.depth, c.batches, 1, 2, part.data(), kPackedRows);
    for (size_t b = 0; b < c.batches; ++b) {
      for (size_t j = 0; j < kPackedRows; ++j) {
        ASSERT_EQ(part[b * kPackedRows + j], dots[b * ld + kPackedRows + j]);
      }
    }
  }
}

TEST(PackedInt8Test, DotsMatchNaiveSums) {
  std::vector<std::pair<const char*, PackedInt8DotsFn>> impls = {
      {"portable", &PackedInt8DotsPortable}};
  if (Int8DotsAvx2Supported()) impls.emplace_back("avx2", &PackedInt8DotsAvx2);
  if (Int8DotsAvx512VnniSupported()) impls.emplace_back("avx512vnni", &PackedInt8DotsAvx512Vnni);
  std::mt19937 rng(12);
  for (const auto& [name, fn] : impls) {
    for (const Case& c : kCases) {
      for (int w_lo : {-127, -128}) {  // maddubs path, widening path
        SCOPED_TRACE(std::string(name) + " " + std::to_string(c.batches) + "x" +
                     std::to_string(c.depth) + "x" + std::to_string(c.rows) +
                     " w >= " + std::to_string(w_lo));
        CheckDots(fn, c, w_lo, rng);
      }
    }
  }
}

// Many activation rows go through 16-row blocks; a single one (a decode GEMV) through
// blocks of 1024 rows, so its ranges cross those blocks' edges too. With 8 or more
// activation rows and weight blocks past the first, the VNNI kernel's first tile of
// rows also prefetches the next block (another tile function); a depth over 768 bytes
// runs it in depth slices.
void CheckBlockedDotsVisitEveryRowOnce(size_t batches, size_t rows,
                                       std::vector<std::pair<size_t, size_t>> ranges,
                                       size_t depth = 45) {
  std::mt19937 rng(13);
  const auto x = RandomInt8(batches * depth, rng, -128, 127);
  const auto w = RandomInt8(rows * depth, rng, -127, 127);
  // Both layouts (their blocks are 16 and 32 rows, 1024 and 2048 for one row).
  std::vector<PackedInt8DotsFn> fns = {PackedInt8DotsFor(PackedInt8Layout::kRows4x32)};
  if (Int8DotsAvx512VnniSupported()) fns.push_back(&PackedInt8DotsAvx512Vnni);
  for (PackedInt8DotsFn fn : fns) {
    const auto packed = PackedInt8Weights::Pack(w, rows, depth, false, PackedInt8LayoutFor(fn));
    for (auto [begin, end] : ranges) {
      SCOPED_TRACE(std::to_string(batches) + " x " + std::to_string(rows) + " rows [" +
                   std::to_string(begin) + ", " + std::to_string(end) + ")");
      std::vector<int> visits(batches * rows, 0);
      BlockedPackedInt8Dots(*packed, x.data(), batches, begin, end, fn,
                            [&](size_t b, size_t r0, size_t count, const int32_t* dots) {
                              for (size_t r = r0; r < r0 + count; ++r) {
                                ++visits[b * rows + r];
                                int64_t expected = 0;
                                for (size_t d = 0; d < depth; ++d) {
                                  expected += int64_t{x[b * depth + d]} * w[r * depth + d];
                                }
                                EXPECT_EQ(dots[r - r0], expected) << "b " << b << " r " << r;
                              }
                            });
      for (size_t b = 0; b < batches; ++b) {
        for (size_t r = 0; r < rows; ++r) {
          ASSERT_EQ(visits[b * rows + r], r >= begin && r < end ? 1 : 0) << "b " << b << " r " << r;
        }
      }
    }
  }
}

TEST(PackedInt8Test, BlockedDotsVisitEveryRowOfTheRangeOnce) {
  CheckBlockedDotsVisitEveryRowOnce(70, 37, {{0, 37}, {5, 22}, {16, 17}, {36, 37}, {9, 9}});
  CheckBlockedDotsVisitEveryRowOnce(1, 37, {{0, 37}, {5, 22}, {36, 37}});
  CheckBlockedDotsVisitEveryRowOnce(1, 2403, {{0, 2403}, {3, 1030}, {1021, 2049}, {2402, 2403}});
  CheckBlockedDotsVisitEveryRowOnce(1, 4100, {{0, 4100}, {2040, 2060}, {4093, 4100}});
  CheckBlockedDotsVisitEveryRowOnce(2, 1030, {{0, 1030}, {7, 1029}});
  CheckBlockedDotsVisitEveryRowOnce(70, 133, {{0, 133}, {5, 100}, {64, 96}, {96, 133}});
  CheckBlockedDotsVisitEveryRowOnce(9, 100, {{0, 100}, {31, 97}}, 1543);
}

// The AVX2 kernel (both its tiles: 4 x 2 pairs of activation rows and the single
// leftover row, and the widening path for -128 weights) equals the scalar reference
// bit for bit on the edges of its loops: every batch count from 1 to 9 and past the
// 64-row blocks of the driver, depths around the 32-byte chunk, rows that leave a
// partial 4-row block, block ranges that start past 0, strides (ldx, ld_dots) larger
// than needed, and the int8 extremes (-128 activations, +-127 and -128 weights).
TEST(PackedInt8Test, Avx2MatchesPortableOnLoopEdges) {
  if (!Int8DotsAvx2Supported()) GTEST_SKIP() << "no AVX2 on this CPU";
  size_t checked = 0;
  ForEachLoopEdgeCase(16, {1, 2, 3, 4, 5, 6, 7, 8, 9, 64, 65, 67, 130}, {1, 31, 32, 33, 95, 583},
                      {1, 5, 13, 37}, [&](const PackedDotsCase& c, size_t begin, size_t end) {
                        EXPECT_EQ(FirstDifferenceFromPortable(&PackedInt8DotsAvx2, *c.packed, c.x,
                                                              c.ldx, c.batches, begin, end),
                                  "")
                            << c.Name();
                        ++checked;
                      });
  EXPECT_EQ(checked, 13u * 6 * 4 * 2 * 5);
}

TEST(PackedInt8Test, SharedCopyIsSharedPerConstant) {
  std::mt19937 rng(14);
  const auto w = RandomInt8(8 * 40, rng, -127, 127);
  const auto a = SharedPackedInt8Weights(w, 8, 40, /*release_source=*/false);
  const auto b = SharedPackedInt8Weights(w, 8, 40, /*release_source=*/false);
  const auto other_shape = SharedPackedInt8Weights(w, 4, 80, /*release_source=*/false);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), other_shape.get());
  EXPECT_EQ(other_shape->at(1, 0), w[80]);
}

// The row sums are not stored with the packed weights: SharedRowSums hands out one
// copy while a holder keeps it and computes an equal one after the last holder let go.
TEST(PackedInt8Test, SharedRowSumsAreSharedWhileHeldAndRecomputedEqual) {
  std::mt19937 rng(15);
  const size_t rows = 13, depth = 70;
  const auto w = RandomInt8(rows * depth, rng, -128, 127);
  const auto packed = PackedInt8Weights::Pack(w, rows, depth);
  std::vector<int32_t> expected(rows);
  for (size_t r = 0; r < rows; ++r) {
    int64_t sum = 0;
    for (size_t d = 0; d < depth; ++d) sum += w[r * depth + d];
    expected[r] = static_cast<int32_t>(sum);
  }
  auto a = packed->SharedRowSums();
  auto b = packed->SharedRowSums();
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(*a, expected);
  const std::weak_ptr<const std::vector<int32_t>> watch = a;
  a.reset();
  EXPECT_FALSE(watch.expired());  // b still holds them
  b.reset();
  // Nobody does: freed, unless the weights keep them for the VNNI path.
  EXPECT_EQ(watch.expired(), packed->kept_row_sums() == nullptr);
  EXPECT_EQ(*packed->SharedRowSums(), expected);
}

TEST(PackedInt8Test, ReleasesOnlyReadOnlyFilePages) {
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t size = page * 8;
  std::vector<char> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 31 + 7);
  const std::string path =
      ::testing::TempDir() + "packed_int8_release_" + std::to_string(::getpid()) + ".bin";
  { std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size)); }
  FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, ::fileno(f), 0);
  std::fclose(f);
  ASSERT_NE(map, MAP_FAILED);
  const auto* mapped = static_cast<const char*>(map);
  ASSERT_EQ(std::memcmp(mapped, bytes.data(), size), 0);  // resident now
  // A range from mid-page 0 to mid-page 7: pages 1..6 are released, and the bytes
  // read back unchanged from the file.
  EXPECT_EQ(ReleaseMappedPages(mapped + page / 2, size - page), page * 6);
  EXPECT_EQ(std::memcmp(mapped, bytes.data(), size), 0);
  ::munmap(map, size);
  std::remove(path.c_str());

  // Heap memory would read back as zeros: never released.
  std::vector<char> heap(bytes);
  EXPECT_EQ(ReleaseMappedPages(heap.data(), heap.size()), 0u);
  EXPECT_EQ(heap, bytes);
}

TEST(PackedInt8Test, PackingAFileMappingWhileReleasingIt) {
  // 3 MB of weights in a file: packed in slices, each slice's pages released; the
  // packed copy and the mapping both still hold the file's bytes.
  const size_t rows = 1000, depth = 3000;
  std::mt19937 rng(15);
  const auto w = RandomInt8(rows * depth, rng, -128, 127);
  const std::string path =
      ::testing::TempDir() + "packed_int8_pack_" + std::to_string(::getpid()) + ".bin";
  {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(w.data()), static_cast<std::streamsize>(w.size()));
  }
  FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  void* map = ::mmap(nullptr, w.size(), PROT_READ, MAP_PRIVATE, ::fileno(f), 0);
  std::fclose(f);
  ASSERT_NE(map, MAP_FAILED);
  const std::span<const int8_t> mapped(static_cast<const int8_t*>(map), w.size());
  const auto packed = PackedInt8Weights::Pack(mapped, rows, depth, /*release_source=*/true);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t d = 0; d < depth; ++d) ASSERT_EQ(packed->at(r, d), w[r * depth + d]);
  }
  EXPECT_TRUE(std::equal(mapped.begin(), mapped.end(), w.begin()));
  ::munmap(map, w.size());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace liteq::runtime::quantized

namespace liteq::runtime::quantized {
namespace {

// The AVX-512 VNNI kernel on its panel layout (tiles of 1 to 8 activation rows by 1,
// 2 or 4 panels, the unsigned shift taken back out with the kept row sums, ranges that
// start or end inside a panel, depth slices: 1543 bytes is 3) equals the scalar
// reference bit for bit on the same loop edges as the AVX2 kernel, -128 weights
// included (vpdpbusd has no int16 step to saturate).
TEST(PackedInt8Test, Avx512VnniMatchesPortableOnLoopEdges) {
  if (!Int8DotsAvx512VnniSupported()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  size_t checked = 0;
  ForEachLoopEdgeCase(
      16, {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 64, 65, 67, 130},
      {1, 31, 32, 33, 63, 64, 65, 95, 583, 1543}, {1, 5, 13, 37},
      [&](const PackedDotsCase& c, size_t begin, size_t end) {
        EXPECT_EQ(FirstDifferenceFromPortable(&PackedInt8DotsAvx512Vnni, *c.panels, *c.packed, c.x,
                                              c.ldx, c.batches, begin, end),
                  "")
            << c.Name();
        ++checked;
      });
  EXPECT_EQ(checked, 16u * 10 * 4 * 2 * 5);
}

// The row sums the VNNI path needs are kept exactly for its layout, and shared with
// the hybrid kernels instead of computed a second time; the default layout is the
// one the chosen kernel reads.
TEST(PackedInt8Test, RowSumsAreKeptOnlyForTheVnniLayout) {
  std::mt19937 rng(14);
  const auto w = RandomInt8(7 * 40, rng, -128, 127);
  for (auto layout : {PackedInt8Layout::kRows4x32, PackedInt8Layout::kPanels16x4}) {
    const auto packed = PackedInt8Weights::Pack(w, 7, 40, false, layout);
    EXPECT_EQ(packed->kept_row_sums() != nullptr, layout == PackedInt8Layout::kPanels16x4);
    const auto shared = packed->SharedRowSums();
    EXPECT_EQ(*shared, packed->RowSums());
    if (packed->kept_row_sums() != nullptr) {
      EXPECT_EQ(shared.get(), packed->kept_row_sums());
    }
  }
  EXPECT_EQ(DefaultPackedInt8Layout() == PackedInt8Layout::kPanels16x4,
            BestPackedInt8Dots() == &PackedInt8DotsAvx512Vnni);
  EXPECT_EQ(PackedInt8LayoutFor(PackedInt8DotsFor(DefaultPackedInt8Layout())),
            DefaultPackedInt8Layout());
}

}  // namespace
}  // namespace liteq::runtime::quantized
