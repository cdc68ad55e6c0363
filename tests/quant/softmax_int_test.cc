#include "runtime/kernels/quantized/softmax_int.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "runtime/kernels/quantized/int8_dot.h"
#include "runtime/kernels/quantized/requantize_rows.h"

namespace liteq::runtime::quantized {
namespace {

std::vector<double> FloatSoftmax(const std::vector<double>& x) {
  double max = x[0];
  for (double v : x) max = std::max(max, v);
  double sum = 0;
  std::vector<double> e(x.size());
  for (size_t i = 0; i < x.size(); ++i) sum += e[i] = std::exp(x[i] - max);
  for (double& v : e) v /= sum;
  return e;
}

TEST(SoftmaxInt8Test, HandComputed) {
  auto p = PrepareSoftmaxInt8({0.1f, 0}, 1.0f, {1.0f / 256, -128});
  ASSERT_TRUE(p.ok());
  const std::vector<int8_t> x = {7, 7, 3, 3, 3, 3, -128, 127};
  std::vector<int8_t> y(8);
  SoftmaxInt8(*p, 4, 2, x, y);
  EXPECT_EQ(y[0], 0);  // 0.5 * 256 - 128
  EXPECT_EQ(y[1], 0);
  EXPECT_EQ(y[6], -128);  // exp(-25.5) / (1 + ...) ~ 0
  EXPECT_EQ(y[7], 127);   // 1.0 * 256 = 256 saturates at 127
}

TEST(SoftmaxInt8Test, MatchesFloatWithinOneStep) {
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> q(-128, 127);
  for (float scale : {0.02f, 0.1f, 0.5f}) {
    for (float beta : {1.0f, 0.5f}) {
      auto p = PrepareSoftmaxInt8({scale, 5}, beta, {1.0f / 256, -128});
      ASSERT_TRUE(p.ok());
      const int depth = 37;
      std::vector<int8_t> x(3 * depth), y(3 * depth);
      for (auto& v : x) v = static_cast<int8_t>(q(rng));
      SoftmaxInt8(*p, 3, depth, x, y);
      for (int r = 0; r < 3; ++r) {
        std::vector<double> row(depth);
        for (int j = 0; j < depth; ++j) row[j] = beta * scale * (x[r * depth + j] - 5);
        const std::vector<double> ref = FloatSoftmax(row);
        for (int j = 0; j < depth; ++j) {
          const double expected = std::min(127.0, ref[j] * 256 - 128);
          EXPECT_NEAR(y[r * depth + j], expected, 1.0);
        }
      }
    }
  }
}

// Rows longer than 256 (attention over a large KV cache) take the per-value output
// table; the bytes equal TFLite's element-by-element formula, computed here with the
// same float operations: e = exp(-input_scale * beta * (max - x)), sequential float
// sum, round(e / (sum * output_scale)) + zero point.
TEST(SoftmaxInt8Test, LongRowsEqualTheElementFormula) {
  std::mt19937 rng(23);
  for (int depth : {257, 1000, 4096}) {
    for (int spread : {256, 20}) {  // every value / a narrow band (few distinct values)
      std::uniform_int_distribution<int> q(127 - spread + 1, 127);
      const float scale = 0.07f, out_scale = 1.0f / 256;
      auto p = PrepareSoftmaxInt8({scale, -9}, 1.0f, {out_scale, -128});
      ASSERT_TRUE(p.ok());
      std::vector<int8_t> x(2 * static_cast<size_t>(depth)), y(x.size());
      for (auto& v : x) v = static_cast<int8_t>(q(rng));
      SoftmaxInt8(*p, 2, depth, x, y);
      for (int r = 0; r < 2; ++r) {
        const int8_t* row = x.data() + static_cast<size_t>(r) * depth;
        int max = -128;
        for (int j = 0; j < depth; ++j) max = std::max<int>(max, row[j]);
        auto e = [&](int v) { return std::exp(-scale * static_cast<float>(max - v)); };
        float sum = 0.0f;
        for (int j = 0; j < depth; ++j) sum += e(row[j]);
        const float inv = 1.0f / (sum * out_scale);
        for (int j = 0; j < depth; ++j) {
          const int expected =
              std::clamp(static_cast<int>(std::round(e(row[j]) * inv)) - 128, -128, 127);
          ASSERT_EQ(y[static_cast<size_t>(r) * depth + j], expected)
              << "depth " << depth << " j " << j;
        }
      }
    }
  }
}

TEST(SoftmaxInt16Test, LutInterpolatesExp) {
  auto p = PrepareSoftmaxInt16({1.0f / 1024, 0}, 1.0f, {1.0f / 32768, 0});
  ASSERT_TRUE(p.ok());
  // exp LUT input: value v in [-32768, 32767] stands for 10 * (v - 32767) / 65535;
  // output q stands for q / 32768. TFLite samples 512 segments over 65535 input steps
  // but looks segments up 128 values at a time, so near x = 0 the table lags by up to
  // one input step (~5 output steps of exp); the measured worst case is 1.96e-4.
  for (int v = -32768; v <= 32767; v += 7) {
    const double x = 10.0 * (v - 32767) / 65535.0;
    const double got = Int16LutLookup(static_cast<int16_t>(v), p->exp_lut) / 32768.0;
    EXPECT_NEAR(got, std::exp(x), 2.2e-4) << v;
  }
  EXPECT_EQ(p->exp_lut[512], 32767);  // exp(0) * 32768 saturates
}

TEST(SoftmaxInt16Test, MatchesFloat) {
  std::mt19937 rng(23);
  std::uniform_int_distribution<int> q(-32768, 32767);
  const float scale = 1.0f / 4096;  // inputs span [-8, 8]
  auto p = PrepareSoftmaxInt16({scale, 0}, 1.0f, {1.0f / 32768, 0});
  ASSERT_TRUE(p.ok());
  const int depth = 50;
  std::vector<int16_t> x(2 * depth), y(2 * depth);
  for (auto& v : x) v = static_cast<int16_t>(q(rng));
  SoftmaxInt16(*p, 2, depth, x, y);
  double max_err = 0;
  for (int r = 0; r < 2; ++r) {
    std::vector<double> row(depth);
    for (int j = 0; j < depth; ++j) row[j] = scale * x[r * depth + j];
    const std::vector<double> ref = FloatSoftmax(row);
    double sum = 0;
    for (int j = 0; j < depth; ++j) {
      max_err = std::max(max_err, std::abs(y[r * depth + j] / 32768.0 - ref[j]));
      sum += y[r * depth + j] / 32768.0;
    }
    EXPECT_NEAR(sum, 1.0, 2e-3);
  }
  // Interpolated exp and reciprocal tables: measured 1.5 output steps at worst.
  EXPECT_LT(max_err, 3.0 / 32768);
  EXPECT_FALSE(PrepareSoftmaxInt16({scale, 1}, 1.0f, {1.0f / 32768, 0}).ok());
}

// SumAfterAdding is the float result of adding one value `count` times in order, for
// softmax-like sums (start in [0, 1e4], terms down to 1e-12) and for ties: terms that
// are exactly half an ulp of the running sum, where round-to-even alternates.
TEST(SumAfterAddingTest, EqualsAddingOneByOne) {
  auto one_by_one = [](float sum, float value, int64_t count) {
    for (int64_t i = 0; i < count; ++i) sum += value;
    return sum;
  };
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> log_value(-12.0f, 1.0f), log_sum(-3.0f, 4.0f);
  std::uniform_int_distribution<int64_t> count(0, 20000);
  for (int i = 0; i < 3000; ++i) {
    const float value = std::pow(10.0f, log_value(rng));
    const float start = i % 7 == 0 ? 0.0f : std::pow(10.0f, log_sum(rng));
    const int64_t n = count(rng);
    const float expected = one_by_one(start, value, n);
    EXPECT_EQ(SumAfterAdding(start, value, n), expected)
        << "start " << start << " value " << value << " count " << n;
  }
  // Ties: 1 + 2^-24 is halfway between 1 and the next float; (1 + 3 * 2^-24) too.
  for (float value : {std::ldexp(1.0f, -24), std::ldexp(3.0f, -24), std::ldexp(5.0f, -25)}) {
    for (float start : {1.0f, 1.0f + std::ldexp(1.0f, -23), 1.5f, 0.75f}) {
      for (int64_t n : {1, 2, 3, 1000, 100000}) {
        EXPECT_EQ(SumAfterAdding(start, value, n), one_by_one(start, value, n))
            << "start " << start << " value " << value << " count " << n;
      }
    }
  }
  // Crossing many binades: many terms of a large value from zero.
  EXPECT_EQ(SumAfterAdding(0.0f, 0.1f, 1000000), one_by_one(0.0f, 0.1f, 1000000));
  EXPECT_EQ(SumAfterAdding(0.0f, 0.0f, 5), 0.0f);
}

// The vectorized output steps (AVX2, AVX-512) against the scalar one and against the
// formula itself: table-like values in [0, 1] times 1 / (sum * scale), products that
// land exactly on halves (rounded away from zero), just below halves, zero points that
// clamp, and lanes outside the fast range (negative, >= 2^22), for sizes around 8 and
// 16 lanes.
void CheckQuantizeProbabilities(QuantizeProbabilitiesFn fast_fn) {
  auto formula = [](float e, float inv, int32_t zp) {
    const int32_t q = static_cast<int32_t>(std::round(e * inv)) + zp;
    return static_cast<int8_t>(std::clamp(q, -128, 127));
  };
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  const float halves[] = {0.5f / 256, 1.5f / 256, 2.5f / 256, 127.5f / 256, 0.75f};
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{15}, size_t{16},
                   size_t{17}, size_t{31}, size_t{33}, size_t{129}, size_t{256}}) {
    for (float inv : {256.0f, 255.7f, 3.1f, 1e7f}) {
      for (int32_t zp : {-128, 0, 100}) {
        std::vector<float> e(n);
        for (size_t i = 0; i < n; ++i) {
          e[i] = i % 5 == 0 ? halves[i % 25 / 5] : unit(rng);
          if (i % 11 == 3) e[i] = std::nextafter(e[i], 0.0f);
        }
        if (n > 20) e[17] = -0.25f;
        std::vector<int8_t> fast(n + 1, 42), slow(n + 1, 42);
        fast_fn(e.data(), n, inv, zp, fast.data());
        QuantizeProbabilitiesPortable(e.data(), n, inv, zp, slow.data());
        ASSERT_EQ(fast, slow) << "n " << n << " inv " << inv << " zp " << zp;
        EXPECT_EQ(fast[n], 42) << "wrote past n";
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(slow[i], formula(e[i], inv, zp)) << i;
      }
    }
  }
}

TEST(QuantizeProbabilitiesTest, Avx2MatchesPortableBitForBit) {
  if (!Int8DotsAvx2Supported()) GTEST_SKIP() << "no AVX2 on this CPU";
  CheckQuantizeProbabilities(&QuantizeProbabilitiesAvx2);
}

TEST(QuantizeProbabilitiesTest, Avx512MatchesPortableBitForBit) {
  if (!RequantizeAvx512Supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  CheckQuantizeProbabilities(&QuantizeProbabilitiesAvx512);
}

}  // namespace
}  // namespace liteq::runtime::quantized
