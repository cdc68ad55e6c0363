// The int4 x int8 decode kernels (runtime/kernels/weight_only_int4_q8.h): the AVX2
// activation quantization and GEMV equal the scalar reference bit for bit (blocks of
// 32/64/128 and per channel, depths with half steps and partial chunks, 1 and 3
// activation rows, rows split as threads split them, zero/NaN/subnormal groups), and
// the reference stays within the activation rounding error of the exact product.
#include "runtime/kernels/weight_only_int4_q8.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace liteq::runtime {
namespace {

struct Layout {
  size_t rows, depth, block;  // block 0: per channel (= depth)
};

struct Weights {
  std::vector<uint8_t> data;
  std::vector<float> scales;
  WeightOnlyMatrix w;

  Weights(const Layout& l, std::mt19937& rng) {
    const size_t block = l.block == 0 ? l.depth : l.block;
    std::uniform_int_distribution<int> byte(0, 255);
    data.resize(l.rows * l.depth / 2);
    for (auto& b : data) b = static_cast<uint8_t>(byte(rng));
    std::uniform_real_distribution<float> scale(0.001f, 0.05f);
    scales.resize(l.rows * l.depth / block);
    for (auto& s : scales) s = scale(rng);
    w.data = data.data();
    w.int4 = true;
    w.rows = l.rows;
    w.depth = l.depth;
    w.block = block;
    w.scales = scales.data();
  }

  int At(size_t r, size_t d) const {
    const size_t e = r * w.depth + d;
    const int nibble = e % 2 == 0 ? (data[e / 2] & 0x0F) : (data[e / 2] >> 4);
    return nibble >= 8 ? nibble - 16 : nibble;
  }
};

struct QuantizedRows {
  std::vector<uint8_t> scratch;
  std::vector<Q8Row> rows;
  QuantizedRows(size_t depth, size_t n) : scratch(Q8ScratchBytes(depth, n), 0xAB) {
    for (size_t i = 0; i < n; ++i) rows.push_back(Q8RowInScratch(scratch.data(), depth, n, i));
  }
};

std::vector<Layout> Layouts() {
  std::vector<Layout> out;
  for (size_t rows : {1, 3, 37}) {
    for (size_t block : {0, 32, 64, 128}) out.push_back({rows, 256, block});
    out.push_back({rows, 576, 0});  // SmolLM2 hidden: 18 groups (2 left after 2 chunks)
    out.push_back({rows, 576, 64});
    out.push_back({rows, 1536, 128});  // SmolLM2 intermediate
    out.push_back({rows, 384, 128});
    out.push_back({rows, 96, 32});   // 3 groups: a half step
    out.push_back({rows, 32, 0});    // one group
    out.push_back({rows, 288, 96});  // blocks of 3 groups straddle the 8-group chunks
  }
  return out;
}

std::string Name(const Layout& l) {
  return "rows " + std::to_string(l.rows) + " depth " + std::to_string(l.depth) + " block " +
         std::to_string(l.block);
}

// Activations with the awkward groups: zero, one huge outlier, subnormal, negative.
std::vector<float> Activations(size_t depth, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(depth);
  for (auto& v : x) v = normal(rng);
  const size_t groups = depth / kQ8Group;
  if (groups > 1) std::fill_n(x.begin() + kQ8Group, kQ8Group, 0.0f);
  if (groups > 2) x[2 * kQ8Group + 5] = 300.0f;
  if (groups > 3) std::fill_n(x.begin() + 3 * kQ8Group, kQ8Group, 1e-40f);
  // Ties of x * 127 / amax at .5: amax 127 makes the products exact halves.
  if (groups > 4) {
    x[4 * kQ8Group] = 127.0f;
    x[4 * kQ8Group + 1] = 2.5f;
    x[4 * kQ8Group + 2] = -3.5f;
  }
  return x;
}

TEST(WeightOnlyInt4Q8, QuantizeMatchesReference) {
  std::mt19937 rng(11);
  for (size_t depth : {32, 64, 96, 256, 576, 1536}) {
    for (int special = 0; special < 3; ++special) {
      std::vector<float> x = Activations(depth, rng);
      if (special == 1) x[depth - 1] = std::numeric_limits<float>::quiet_NaN();
      if (special == 2) x[0] = -std::numeric_limits<float>::infinity();
      QuantizedRows fast(depth, 1), ref(depth, 1);
      QuantizeQ8Activations(x.data(), depth, fast.rows[0]);
      ReferenceQuantizeQ8Activations(x.data(), depth, ref.rows[0]);
      SCOPED_TRACE("depth " + std::to_string(depth) + " special " + std::to_string(special));
      const size_t groups = Q8RowGroups(depth);
      EXPECT_EQ(std::memcmp(fast.rows[0].q, ref.rows[0].q, Q8RowBytes(depth)), 0);
      EXPECT_EQ(std::memcmp(fast.rows[0].offsets, ref.rows[0].offsets, groups * 4), 0);
      // Bit patterns: NaN != NaN as floats.
      EXPECT_EQ(std::memcmp(fast.rows[0].scales, ref.rows[0].scales, groups * 4), 0);
      // The values: x ~ q * scale within half a step, per group.
      const Q8Row& row = ref.rows[0];
      for (size_t g = 0; g < depth / kQ8Group; ++g) {
        const float s = row.scales[g];
        int32_t sum = 0;
        for (size_t i = 0; i < kQ8Group; ++i) {
          const size_t d = g * kQ8Group + i, piece = d / 64 * 64, k = d % 64;
          const int q = row.q[piece + (k % 2 == 0 ? k / 2 : 32 + k / 2)];
          sum += q;
          if (std::isnan(s) || s == 0.0f) {
            EXPECT_EQ(q, 0);
          } else {
            EXPECT_LE(std::fabs(q * s - x[d]), 0.5001f * s) << "d " << d;
          }
        }
        EXPECT_EQ(row.offsets[g], 8 * sum);
      }
      if (depth >= 128) {
        EXPECT_EQ(row.scales[1], 0.0f);  // zero group
        EXPECT_EQ(row.scales[3], 0.0f);  // subnormal group: 127 / amax overflows
      }
      if (special == 1) {
        EXPECT_TRUE(std::isnan(row.scales[depth / kQ8Group - 1]));
      }
      if (special == 2) {
        EXPECT_TRUE(std::isnan(row.scales[0]));
      }
    }
  }
  // The tie cases: 2.5 and -3.5 round half to even.
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;
  x[2] = 2.5f;
  x[4] = -3.5f;
  QuantizedRows ref(32, 1);
  ReferenceQuantizeQ8Activations(x.data(), 32, ref.rows[0]);
  EXPECT_EQ(ref.rows[0].q[1], 2);
  EXPECT_EQ(ref.rows[0].q[2], -4);
}

TEST(WeightOnlyInt4Q8, GemvMatchesReferenceBitExact) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const Layout& l : Layouts()) {
    SCOPED_TRACE(Name(l));
    Weights f(l, rng);
    ASSERT_TRUE(Int4Q8Supports(f.w));
    for (size_t batches : {1, 3, 9}) {
      QuantizedRows xs(l.depth, batches);
      for (size_t b = 0; b < batches; ++b) {
        const std::vector<float> x = Activations(l.depth, rng);
        QuantizeQ8Activations(x.data(), l.depth, xs.rows[b]);
      }
      std::vector<float> bias(l.rows);
      for (auto& v : bias) v = normal(rng);
      for (bool with_bias : {false, true}) {
        const size_t ldo = l.rows + 2;
        std::vector<float> fast(batches * ldo, -7.0f), ref(batches * ldo, -7.0f);
        Int4Q8GemvArgs a{xs.rows.data(), batches, with_bias ? bias.data() : nullptr, ref.data(),
                         ldo};
        ReferenceInt4Q8Gemv(f.w, a, 0, l.rows);
        // The rows in two ranges, as two threads would compute them.
        a.out = fast.data();
        const size_t split = l.rows / 3;
        Int4Q8Gemv(f.w, a, 0, split);
        Int4Q8Gemv(f.w, a, split, l.rows);
        ASSERT_EQ(std::memcmp(fast.data(), ref.data(), fast.size() * sizeof(float)), 0)
            << "batches " << batches << " bias " << with_bias
            << (WeightOnlyDotUsesAvx2() ? " (AVX2)" : " (reference only)");
        for (size_t b = 0; b < batches; ++b) {  // untouched padding
          EXPECT_EQ(fast[b * ldo + l.rows], -7.0f);
        }
      }
    }
  }
}

// The reference against the exact product: each activation moves by at most half a
// quantization step (scale_g / 2), so |out - exact| <= sum_d |w[r, d]| * scale_g / 2
// plus float rounding.
TEST(WeightOnlyInt4Q8, ReferenceWithinActivationRounding) {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const Layout& l : Layouts()) {
    SCOPED_TRACE(Name(l));
    Weights f(l, rng);
    std::vector<float> x(l.depth);
    for (auto& v : x) v = normal(rng);
    QuantizedRows xs(l.depth, 1);
    ReferenceQuantizeQ8Activations(x.data(), l.depth, xs.rows[0]);
    std::vector<float> out(l.rows);
    Int4Q8GemvArgs a{xs.rows.data(), 1, nullptr, out.data(), l.rows};
    ReferenceInt4Q8Gemv(f.w, a, 0, l.rows);
    for (size_t r = 0; r < l.rows; ++r) {
      double exact = 0.0, bound = 0.0, magnitude = 0.0;
      for (size_t d = 0; d < l.depth; ++d) {
        const double w = f.At(r, d) * static_cast<double>(f.scales[(r * l.depth + d) / f.w.block]);
        exact += w * x[d];
        bound += std::fabs(w) * xs.rows[0].scales[d / kQ8Group] * 0.5;
        magnitude += std::fabs(w * x[d]);
      }
      EXPECT_LE(std::fabs(out[r] - exact), bound + 1e-5 * magnitude) << "row " << r;
    }
  }
}

}  // namespace
}  // namespace liteq::runtime
