// The weight-only kernels (runtime/kernels/weight_only_dot.h): the fast (AVX2) GEMV
// against the scalar reference within kWeightOnlyDotRelativeTolerance, and the fast
// row dequantization equal to the reference bit for bit, over int8 and int4, per
// channel and blocks of 32/64/128, odd depths and row counts that are no multiple of
// the 4-row tile.
#include "runtime/kernels/weight_only_dot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace liteq::runtime {
namespace {

struct Layout {
  bool int4;
  size_t rows, depth, block;  // block 0: per channel (= depth)
};

std::string Name(const Layout& l) {
  return std::string(l.int4 ? "int4" : "int8") + " rows " + std::to_string(l.rows) + " depth " +
         std::to_string(l.depth) + " block " + std::to_string(l.block);
}

struct Fixture {
  std::vector<uint8_t> data;
  std::vector<float> scales;
  WeightOnlyMatrix w;

  Fixture(const Layout& l, std::mt19937& rng) {
    const size_t count = l.rows * l.depth;
    const size_t block = l.block == 0 ? l.depth : l.block;
    std::uniform_int_distribution<int> byte(0, 255);
    data.resize(l.int4 ? (count + 1) / 2 : count);
    for (auto& b : data) b = static_cast<uint8_t>(byte(rng));
    std::uniform_real_distribution<float> scale(0.001f, 0.05f);
    scales.resize(count / block);
    for (auto& s : scales) s = scale(rng);
    w.data = data.data();
    w.int4 = l.int4;
    w.rows = l.rows;
    w.depth = l.depth;
    w.block = block;
    w.scales = scales.data();
  }
};

std::vector<Layout> Layouts() {
  std::vector<Layout> out;
  for (bool int4 : {false, true}) {
    for (size_t rows : {1, 3, 4, 7, 37}) {
      for (size_t block : {0, 32, 64, 128}) out.push_back({int4, rows, 256, block});
      out.push_back({int4, rows, 576, 0});
      out.push_back({int4, rows, 384, 128});
      out.push_back({int4, rows, 96, 32});
      out.push_back({int4, rows, 24, 0});  // int4: depth no multiple of 16 (reference)
      out.push_back({int4, rows, 33, 0});  // odd depth: int4 rows start mid-byte
    }
  }
  return out;
}

TEST(WeightOnlyDot, GemvMatchesReference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const Layout& l : Layouts()) {
    Fixture f(l, rng);
    for (size_t batches : {1, 3}) {
      const size_t ldx = l.depth + 5, ldo = l.rows + 2;
      std::vector<float> x(batches * ldx), bias(l.rows);
      for (auto& v : x) v = normal(rng);
      for (auto& v : bias) v = normal(rng);
      std::vector<float> fast(batches * ldo, -7.0f), ref(batches * ldo, -7.0f);
      WeightOnlyGemvArgs a{x.data(), ldx, batches, bias.data(), fast.data(), ldo};
      WeightOnlyGemv(f.w, a, 0, l.rows);
      a.out = ref.data();
      ReferenceWeightOnlyGemv(f.w, a, 0, l.rows);
      std::vector<float> dequantized(l.rows * l.depth);
      ReferenceDequantizeWeightRows(f.w, 0, l.rows, dequantized.data());
      for (size_t b = 0; b < batches; ++b) {
        for (size_t r = 0; r < l.rows; ++r) {
          double magnitude = std::fabs(bias[r]);
          for (size_t d = 0; d < l.depth; ++d) {
            magnitude += std::fabs(x[b * ldx + d] * dequantized[r * l.depth + d]);
          }
          ASSERT_NEAR(fast[b * ldo + r], ref[b * ldo + r],
                      kWeightOnlyDotRelativeTolerance * magnitude)
              << Name(l) << " batch " << b << " row " << r;
        }
        // Only the output rows asked for are written.
        for (size_t r = l.rows; r < ldo; ++r) ASSERT_EQ(fast[b * ldo + r], -7.0f) << Name(l);
      }
      // A row range in the middle writes exactly those rows.
      if (l.rows >= 7) {
        std::vector<float> part(batches * ldo, -7.0f);
        a.out = part.data();
        WeightOnlyGemv(f.w, a, 2, l.rows - 1);
        for (size_t b = 0; b < batches; ++b) {
          for (size_t r = 0; r < ldo; ++r) {
            if (r >= 2 && r < l.rows - 1) {
              ASSERT_EQ(part[b * ldo + r], fast[b * ldo + r]) << Name(l) << " row " << r;
            } else {
              ASSERT_EQ(part[b * ldo + r], -7.0f) << Name(l) << " row " << r;
            }
          }
        }
      }
    }
  }
}

TEST(WeightOnlyDot, DequantizedRowsEqualReference) {
  std::mt19937 rng(11);
  for (const Layout& l : Layouts()) {
    Fixture f(l, rng);
    for (size_t begin : {size_t{0}, l.rows / 2}) {
      const size_t n = (l.rows - begin) * l.depth;
      std::vector<float> fast(n + 1, -7.0f), ref(n + 1, -7.0f);
      DequantizeWeightRows(f.w, begin, l.rows, fast.data());
      ReferenceDequantizeWeightRows(f.w, begin, l.rows, ref.data());
      ASSERT_EQ(fast, ref) << Name(l) << " from row " << begin;
      ASSERT_EQ(fast[n], -7.0f) << Name(l);
    }
  }
}

TEST(WeightOnlyDot, ReferenceDecodesNibblesAndScales) {
  // Two rows of 3 int4 weights, per channel: elements 0..5 = 1, -8, 7, -1, 0, 3 packed
  // low nibble first.
  const std::vector<uint8_t> packed = {0x81, 0xF7, 0x30};
  const std::vector<float> scales = {0.5f, 2.0f};
  WeightOnlyMatrix w{packed.data(), true, 2, 3, 3, scales.data()};
  std::vector<float> rows(6);
  ReferenceDequantizeWeightRows(w, 0, 2, rows.data());
  EXPECT_EQ(rows, (std::vector<float>{0.5f, -4.0f, 3.5f, -2.0f, 0.0f, 6.0f}));
  const std::vector<float> x = {1, 2, 3};
  std::vector<float> out(2);
  WeightOnlyGemv(w, {x.data(), 3, 1, nullptr, out.data(), 2}, 0, 2);
  EXPECT_EQ(out, (std::vector<float>{0.5f - 8.0f + 10.5f, -2.0f + 18.0f}));
  const std::vector<uint8_t> bytes = {0x80, 0x7F, 0xFF, 0x02};  // -128, 127, -1, 2
  WeightOnlyMatrix w8{bytes.data(), false, 1, 4, 2, scales.data()};
  std::vector<float> row(4);
  DequantizeWeightRows(w8, 0, 1, row.data());
  EXPECT_EQ(row, (std::vector<float>{-64.0f, 63.5f, -2.0f, 4.0f}));
}

#if defined(__x86_64__)
// On a CPU with AVX2 the comparisons above exercised the AVX2 code, not the reference.
TEST(WeightOnlyDot, UsesAvx2WhenTheCpuHasIt) {
  EXPECT_EQ(WeightOnlyDotUsesAvx2(),
            __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
}
#endif

}  // namespace
}  // namespace liteq::runtime
