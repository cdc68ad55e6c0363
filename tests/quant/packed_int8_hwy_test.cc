// The Highway packed int8 dot products (PackedInt8DotsHwy, packed_int8_hwy.cc) equal
// the scalar reference PackedInt8DotsPortable bit for bit on EVERY Highway target
// compiled in and supported by this CPU (each forced in turn with
// hwy::SetSupportedTargetsForTest, and checked to be the one that ran): random shapes
// on the edges of the kernel's loops (depths around the 32-byte chunk, rows that leave
// a partial 4-row block, 1-7 and 64+ activation rows, block subranges, strides larger
// than needed), the int8 extremes (all -128, all 127, sign patterns whose int16 pair
// sums would saturate, -128 weights) and sums that wrap modulo 2^32.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "hwy/targets.h"
#include "packed_int8_cases.h"  // (this directory)
#include "runtime/kernels/quantized/int8_dot.h"
#include "runtime/kernels/quantized/packed_int8.h"

namespace liteq::runtime::quantized {
namespace {

// Runs body once per Highway target compiled and supported here, with that target
// forced; returns the names of the targets that ran. The mock is undone on exit.
std::vector<std::string> ForEachHwyTarget(const std::function<void()>& body) {
  struct ResetMock {
    ~ResetMock() { hwy::SetSupportedTargetsForTest(0); }
  } reset;
  std::vector<std::string> ran;
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    EXPECT_EQ(PackedInt8DotsHwyTarget(), target) << "the forced target did not run";
    body();
    ran.emplace_back(hwy::TargetName(target));
  }
  return ran;
}

// PackedInt8DotsHwy against PackedInt8DotsPortable on one block range.
void ExpectSameDots(const PackedInt8Weights& w, const std::vector<int8_t>& x, size_t ldx,
                    size_t batches, size_t begin, size_t end) {
  EXPECT_EQ(FirstDifferenceFromPortable(&PackedInt8DotsHwy, w, x, ldx, batches, begin, end), "");
}

TEST(PackedInt8HwyTest, MatchesPortableOnEveryTargetForRandomShapes) {
  size_t checked = 0;
  const auto ran = ForEachHwyTarget([&] {
    ForEachLoopEdgeCase(21, {1, 2, 3, 4, 5, 6, 7, 64, 67}, {1, 7, 31, 32, 33, 64, 95, 583},
                        {1, 4, 5, 13, 37}, [&](const PackedDotsCase& c, size_t begin, size_t end) {
                          SCOPED_TRACE(c.Name());
                          ExpectSameDots(*c.packed, c.x, c.ldx, c.batches, begin, end);
                          ++checked;
                        });
  });
  ASSERT_FALSE(ran.empty());
  // Per target: 9 batch counts x 8 depths x 5 row counts x 2 weight ranges x 5 block ranges.
  EXPECT_EQ(checked, ran.size() * 9 * 8 * 5 * 2 * 5);
#if defined(__x86_64__) || defined(__i386__)
  // At least the scalar fallback and one SIMD target (SSSE3 exists on every x86-64
  // CPU this runs on), so the test cannot pass vacuously.
  EXPECT_GE(ran.size(), 2u);
#endif
  std::string names;
  for (const auto& n : ran) names += " " + n;
  std::printf("Highway targets checked:%s\n", names.c_str());
}

// The int8 extremes: all -128 (also -128 * -128 = 2^14 in both operands), all 127,
// and signs whose adjacent products add to 2^15 (one past int16) or -32512.
TEST(PackedInt8HwyTest, MatchesPortableOnEveryTargetForExtremeValues) {
  struct Pattern {
    const char* name;
    int8_t (*x)(size_t i);
    int8_t (*w)(size_t i);
  };
  const Pattern patterns[] = {
      {"all -128", [](size_t) -> int8_t { return -128; }, [](size_t) -> int8_t { return -128; }},
      {"all 127", [](size_t) -> int8_t { return 127; }, [](size_t) -> int8_t { return 127; }},
      {"x -128, w 127", [](size_t) -> int8_t { return -128; },
       [](size_t) -> int8_t { return 127; }},
      {"pair sums 2^15 and -32512",
       [](size_t i) -> int8_t { return static_cast<int8_t>(i % 4 < 2 ? -128 : 127); },
       [](size_t) -> int8_t { return -128; }},
      {"alternating", [](size_t i) -> int8_t { return static_cast<int8_t>(i % 2 ? -128 : 127); },
       [](size_t i) -> int8_t { return static_cast<int8_t>(i % 3 ? -128 : 127); }},
  };
  size_t checked = 0;
  const auto ran = ForEachHwyTarget([&] {
    for (const Pattern& p : patterns) {
      for (size_t batches : {1, 2, 3}) {
        for (size_t depth : {1, 32, 45, 1000}) {
          const size_t rows = 6;
          SCOPED_TRACE(std::string(p.name) + " " + std::to_string(batches) + "x" +
                       std::to_string(depth));
          std::vector<int8_t> x(batches * depth), w(rows * depth);
          for (size_t i = 0; i < x.size(); ++i) x[i] = p.x(i % depth);
          for (size_t i = 0; i < w.size(); ++i) w[i] = p.w(i % depth);
          const auto packed =
              PackedInt8Weights::Pack(w, rows, depth, false, PackedInt8Layout::kRows4x32);
          ExpectSameDots(*packed, x, depth, batches, 0, packed->row_blocks());
          ++checked;
        }
      }
    }
  });
  EXPECT_EQ(checked, ran.size() * std::size(patterns) * 3 * 4);
}

// 140000 products of -128 * -128 = 2^14 add up to 2293760000 > 2^31 - 1: the sum
// wraps modulo 2^32 as the reference's (and must not overflow a signed int in the
// targets that emulate their lanes in C++).
TEST(PackedInt8HwyTest, SumsWrapModulo2To32OnEveryTarget) {
  const size_t depth = 140000, rows = 5;
  const std::vector<int8_t> x(2 * depth, -128);
  std::vector<int8_t> w(rows * depth, -128);
  for (size_t d = 0; d < depth; d += 2) w[4 * depth + d] = 127;  // row 4: a mixed sum
  const auto packed = PackedInt8Weights::Pack(w, rows, depth, false, PackedInt8Layout::kRows4x32);
  const int32_t wrapped =
      static_cast<int32_t>(static_cast<uint32_t>(uint64_t{depth} * 16384 % (uint64_t{1} << 32)));
  ASSERT_LT(wrapped, 0);  // really past 2^31
  const auto ran = ForEachHwyTarget([&] {
    for (size_t batches : {1, 2}) {
      std::vector<int32_t> dots(batches * 8);
      PackedInt8DotsHwy(*packed, x.data(), depth, batches, 0, 2, dots.data(), 8);
      EXPECT_EQ(dots[0], wrapped);
      EXPECT_EQ(dots[batches * 8 - 5], wrapped);  // last batch, row 3
      ExpectSameDots(*packed, x, depth, batches, 0, 2);
    }
  });
  EXPECT_FALSE(ran.empty());
}

TEST(PackedInt8HwyTest, BestIsVnniThenAvx2WhenSupportedElseHighwayWithSimd) {
  if (std::getenv("LITEQ_INT8_DOTS") != nullptr) GTEST_SKIP() << "LITEQ_INT8_DOTS is set";
  const int64_t target = PackedInt8DotsHwyTarget();
  EXPECT_EQ(PackedInt8DotsHwyHasSimd(), target != HWY_SCALAR && target != HWY_EMU128);
  EXPECT_EQ(BestPackedInt8Dots(), Int8DotsAvx512VnniSupported() ? &PackedInt8DotsAvx512Vnni
                                  : Int8DotsAvx2Supported()     ? &PackedInt8DotsAvx2
                                  : PackedInt8DotsHwyHasSimd()  ? &PackedInt8DotsHwy
                                                                : &PackedInt8DotsPortable);
#if defined(__x86_64__) || defined(__aarch64__)
  EXPECT_TRUE(PackedInt8DotsHwyHasSimd());  // SSSE3 / NEON at least
#endif
}

}  // namespace
}  // namespace liteq::runtime::quantized
