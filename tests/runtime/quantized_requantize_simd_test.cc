// The AVX2 and AVX-512 requantizing rows (runtime/kernels/quantized/requantize_rows.h) against the
// portable rows, which are the scalar reference arithmetic: identical int8 outputs on
// random inputs and on the edges (int32 extremes, every shift in [-31, 30],
// multipliers near 2^31, ties, saturation, zero points -128/127, row lengths that are
// not multiples of 8, broadcast rows). The portable rows are also checked against the
// reference functions directly, and the broadcast walk against MulInt8/AddSubInt8.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "graph_builder.h"
#include "quant/fixed_point.h"
#include "runtime/kernels/quantized/broadcast_rows.h"
#include "runtime/kernels/quantized/elementwise_int.h"
#include "runtime/kernels/quantized/int8_dot.h"
#include "runtime/kernels/quantized/requantize_rows.h"

namespace liteq::runtime::quantized {
namespace {

constexpr int32_t kMin32 = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax32 = std::numeric_limits<int32_t>::max();

#define SKIP_WITHOUT_AVX2() \
  if (!Int8DotsAvx2Supported()) GTEST_SKIP() << "CPU without AVX2"

// Random int32 with the edges mixed in: extremes, small values, exact ties of every
// power of two (x = k * 2^j + 2^(j-1) are ties for products with m = 2^30).
std::vector<int32_t> Int32Inputs(size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> any(kMin32, kMax32);
  std::uniform_int_distribution<int> kind(0, 5);
  std::uniform_int_distribution<int> bit(1, 30);
  std::uniform_int_distribution<int32_t> small(-70000, 70000);
  std::vector<int32_t> v(n);
  for (int32_t& x : v) {
    switch (kind(rng)) {
      case 0:
        x = (rng() & 1) ? kMin32 : kMax32;
        break;
      case 1:
        x = small(rng);
        break;
      case 2: {
        const int j = bit(rng);
        x = static_cast<int32_t>((small(rng) * (int64_t{1} << j) + (int64_t{1} << (j - 1))) %
                                 (int64_t{1} << 31));
        break;
      }
      default:
        x = any(rng);
    }
  }
  return v;
}

// Multipliers in QuantizeMultiplier's range, with 0, 2^30 and 2^31 - 1.
int32_t RandomMultiplier(std::mt19937& rng) {
  switch (rng() % 6) {
    case 0:
      return 0;
    case 1:
      return int32_t{1} << 30;
    case 2:
      return kMax32;
    case 3:
      return kMax32 - static_cast<int32_t>(rng() % 16);
    default:
      return static_cast<int32_t>((int64_t{1} << 30) + rng() % (uint32_t{1} << 30));
  }
}

TEST(RequantizeRowsTest, FcPortableIsApplyMultiplier) {
  std::mt19937 rng(1);
  const std::vector<int32_t> dots = Int32Inputs(400, rng);
  const std::vector<int32_t> bias = Int32Inputs(400, rng);
  for (int shift = -31; shift <= 30; ++shift) {
    std::vector<int32_t> mult(400);
    std::vector<int8_t> total(400, static_cast<int8_t>(31 - shift));
    for (int32_t& m : mult) m = RandomMultiplier(rng);
    FcRequantizeArgs args{bias.data(), mult.data(), total.data(), -7, -100, 120, shift > 0};
    std::vector<int8_t> out(400);
    FcRequantizePortable(args, dots.data(), out.size(), out.data());
    for (size_t i = 0; i < out.size(); ++i) {
      const auto acc =
          static_cast<int32_t>(static_cast<uint32_t>(dots[i]) + static_cast<uint32_t>(bias[i]));
      // + zero point -7 wrapping modulo 2^32, as the rows (requantize_rows.h).
      const auto v = static_cast<int32_t>(
          static_cast<uint32_t>(ApplyMultiplier(int64_t{acc}, {mult[i], shift})) - 7u);
      ASSERT_EQ(out[i], std::clamp(v, -100, 120)) << "shift " << shift << " i " << i;
    }
  }
}

// The SIMD versions this CPU can run, each checked against the portable rows.
template <typename Fn>
std::vector<std::pair<const char*, Fn>> FastRows(Fn avx2, Fn avx512) {
  std::vector<std::pair<const char*, Fn>> rows;
  if (Int8DotsAvx2Supported()) rows.emplace_back("avx2", avx2);
  if (RequantizeAvx512Supported()) rows.emplace_back("avx512", avx512);
  return rows;
}

// Per-channel FC requantization parameters: random multipliers and the shift each
// channel gets from `shift_of` (called once per channel, after its multiplier).
struct FcChannels {
  std::vector<int32_t> multiplier;
  std::vector<int8_t> total_shift;
  bool saturate = false;  // some shift > 0
};
template <typename ShiftOf>
FcChannels RandomFcChannels(size_t n, std::mt19937& rng, ShiftOf shift_of) {
  FcChannels c{std::vector<int32_t>(n), std::vector<int8_t>(n)};
  for (size_t i = 0; i < n; ++i) {
    c.multiplier[i] = RandomMultiplier(rng);
    const int s = shift_of();
    c.total_shift[i] = static_cast<int8_t>(31 - s);
    c.saturate = c.saturate || s > 0;
  }
  return c;
}

void CheckFcRows(FcRequantizeFn fast);

TEST(RequantizeRowsTest, FcSimdMatchesPortable) {
  SKIP_WITHOUT_AVX2();
  for (const auto& [name, fast] : FastRows(&FcRequantizeAvx2, &FcRequantizeAvx512)) {
    SCOPED_TRACE(name);
    CheckFcRows(fast);
  }
}

void CheckFcRows(FcRequantizeFn fast) {
  std::mt19937 rng(2);
  for (int shift = -31; shift <= 30; ++shift) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{15}, size_t{16}, size_t{29},
                     size_t{203}}) {
      const std::vector<int32_t> dots = Int32Inputs(n, rng);
      const std::vector<int32_t> bias = Int32Inputs(n, rng);
      // Per channel: this shift everywhere, or a mix of random shifts.
      const bool mixed = (rng() & 1) != 0;
      const FcChannels c = RandomFcChannels(
          n, rng, [&] { return mixed ? static_cast<int>(rng() % 62) - 31 : shift; });
      const std::vector<int32_t>& mult = c.multiplier;
      const std::vector<int8_t>& total = c.total_shift;
      const bool saturate = c.saturate;
      for (int32_t zp : {-128, 0, 127}) {
        FcRequantizeArgs args{bias.data(), mult.data(), total.data(), zp, -128, 127, saturate};
        if (zp == 0) args.min = -3, args.max = 90;  // an activation clamp
        std::vector<int8_t> expected(n), actual(n);
        FcRequantizePortable(args, dots.data(), n, expected.data());
        fast(args, dots.data(), n, actual.data());
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(actual[i], expected[i]) << "shift " << shift << " n " << n << " i " << i
                                            << " dot " << dots[i] << " m " << mult[i];
        }
      }
    }
  }
}

// The block form (one tile of dots, several rows, the channels' parameters loaded
// once) against the portable row per row: every shift, mixed per-channel shifts, tails,
// strides wider than the rows.
TEST(RequantizeRowsTest, FcBlocksMatchPortableRows) {
  std::vector<std::pair<std::string, FcRequantizeBlockFn>> blocks = {
      {"portable", &FcRequantizeBlockPortable}};
  if (Int8DotsAvx2Supported()) blocks.emplace_back("avx2", &FcRequantizeBlockAvx2);
  if (RequantizeAvx512Supported()) blocks.emplace_back("avx512", &FcRequantizeBlockAvx512);
  std::mt19937 rng(5);
  for (const auto& [name, block] : blocks) {
    SCOPED_TRACE(name);
    for (int shift = -31; shift <= 30; ++shift) {
      for (const auto& [rows, n] :
           {std::pair<size_t, size_t>{1, 16}, {5, 29}, {64, 32}, {3, 203}}) {
        const size_t ld_dots = n + 3, ld_out = n + 11;
        const std::vector<int32_t> dots = Int32Inputs(rows * ld_dots, rng);
        const std::vector<int32_t> bias = Int32Inputs(n, rng);
        // Mixed: shifts around the 33 where the AVX-512 rows change form.
        const bool mixed = (rng() & 1) != 0;
        const FcChannels c =
            RandomFcChannels(n, rng, [&] { return mixed ? -static_cast<int>(rng() % 6) : shift; });
        const FcRequantizeArgs args{
            bias.data(), c.multiplier.data(), c.total_shift.data(), -5, -128, 127, c.saturate};
        std::vector<int8_t> expected(rows * ld_out, 0), actual(rows * ld_out, 0);
        for (size_t r = 0; r < rows; ++r) {
          FcRequantizePortable(args, dots.data() + r * ld_dots, n, expected.data() + r * ld_out);
        }
        block(args, dots.data(), ld_dots, rows, n, actual.data(), ld_out);
        ASSERT_EQ(actual, expected) << "shift " << shift << " rows " << rows << " n " << n;
      }
    }
  }
}

TEST(RequantizeRowsTest, BatchMatMulPortableIsMultiplyByQuantizedMultiplier) {
  std::mt19937 rng(3);
  const std::vector<int32_t> dots = Int32Inputs(300, rng);
  const std::vector<int32_t> sums = Int32Inputs(300, rng);
  for (int shift = -31; shift <= 30; ++shift) {
    BatchMatMulRequantizeArgs args{sums.data(), 77, 123456789u, {RandomMultiplier(rng), shift}, 5};
    std::vector<int8_t> out(300);
    BatchMatMulRequantizePortable(args, dots.data(), out.size(), out.data());
    for (size_t i = 0; i < out.size(); ++i) {
      const auto acc = static_cast<int32_t>(static_cast<uint32_t>(dots[i]) + args.row_term +
                                            77u * static_cast<uint32_t>(sums[i]));
      const int64_t v =
          int64_t{quant::MultiplyByQuantizedMultiplier(acc, args.multiplier.multiplier, shift)} + 5;
      ASSERT_EQ(out[i], std::clamp<int64_t>(v, -128, 127)) << "shift " << shift << " i " << i;
    }
  }
}

TEST(RequantizeRowsTest, BatchMatMulSimdMatchesPortable) {
  SKIP_WITHOUT_AVX2();
  for (const auto& [name, fast] :
       FastRows(&BatchMatMulRequantizeAvx2, &BatchMatMulRequantizeAvx512)) {
    SCOPED_TRACE(name);
    std::mt19937 rng(4);
    for (int shift = -31; shift <= 30; ++shift) {
      for (int trial = 0; trial < 12; ++trial) {
        const size_t n = trial < 4 ? static_cast<size_t>(trial * 5) : 8 + rng() % 90;
        const std::vector<int32_t> dots = Int32Inputs(n, rng);
        const std::vector<int32_t> sums = Int32Inputs(n, rng);
        BatchMatMulRequantizeArgs args;
        args.col_sums = sums.data();
        args.lhs_offset = trial % 3 == 0 ? 0u : static_cast<uint32_t>(rng() % 256) - 128u;
        args.row_term = trial % 2 == 0 ? 0u : static_cast<uint32_t>(rng());
        args.multiplier = {RandomMultiplier(rng), shift};
        args.output_offset = trial % 3 == 0 ? -128 : (trial % 3 == 1 ? 127 : 3);
        std::vector<int8_t> expected(n), actual(n);
        BatchMatMulRequantizePortable(args, dots.data(), n, expected.data());
        fast(args, dots.data(), n, actual.data());
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(actual[i], expected[i])
              << "shift " << shift << " i " << i << " dot " << dots[i];
        }
      }
    }
  }
}

std::vector<int8_t> RandomInt8(size_t n, std::mt19937& rng) {
  std::vector<int8_t> v(n);
  for (int8_t& x : v) {
    const uint32_t r = rng();
    x = r % 8 == 0 ? int8_t{-128} : (r % 8 == 1 ? int8_t{127} : static_cast<int8_t>(r >> 8));
  }
  return v;
}

quant::QuantParams RandomQuant(std::mt19937& rng, float lo_log2, float hi_log2) {
  std::uniform_real_distribution<float> e(lo_log2, hi_log2);
  const int32_t zps[] = {-128, 127, 0, static_cast<int32_t>(rng() % 256) - 128};
  return {std::exp2(e(rng)), zps[rng() % 4]};
}

// Every (a_step, b_step) row of length n through both row functions.
template <typename Params, typename Fn>
void ExpectRowsEqual(const Params& p, Fn portable, Fn avx2, std::mt19937& rng,
                     const std::string& what) {
  for (size_t n : {size_t{1}, size_t{5}, size_t{8}, size_t{9}, size_t{15}, size_t{16}, size_t{17},
                   size_t{31}, size_t{64}, size_t{77}}) {
    const std::vector<int8_t> a = RandomInt8(n, rng), b = RandomInt8(n, rng);
    for (size_t a_step : {0, 1}) {
      for (size_t b_step : {0, 1}) {
        std::vector<int8_t> expected(n), actual(n);
        portable(p, a.data(), a_step, b.data(), b_step, expected.data(), n);
        avx2(p, a.data(), a_step, b.data(), b_step, actual.data(), n);
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(actual[i], expected[i])
              << what << " n " << n << " steps " << a_step << "," << b_step << " i " << i;
        }
      }
    }
  }
}

void CheckMulRows(MulInt8RowFn fast) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    // Output scales from far below to far above s1 * s2: multipliers < 1 and >= 1.
    const quant::QuantParams q1 = RandomQuant(rng, -12, 0), q2 = RandomQuant(rng, -12, 0);
    const quant::QuantParams qo = RandomQuant(rng, -30, 2);
    const auto act = trial % 4 == 0 ? FusedActivation::kRelu : FusedActivation::kNone;
    Result<MulParams> p = PrepareMul(IntType::kInt8, q1, q2, qo, act);
    if (!p.ok()) continue;  // rescale too large for the kernel
    ExpectRowsEqual(*p, &MulInt8RowPortable, fast, rng, "trial " + std::to_string(trial));
  }
  // Every shift, multipliers at the ends of the range (saturating for shift > 0).
  for (int shift = -31; shift <= 30; ++shift) {
    for (int32_t m : {int32_t{1} << 30, kMax32, kMax32 - 1, int32_t{1610612736}}) {
      MulParams p;
      p.input1_offset = 128;
      p.input2_offset = -127;
      p.output_offset = shift % 2 == 0 ? 127 : -128;
      p.output = {m, shift};
      p.activation = {-128, 127};
      ExpectRowsEqual(p, &MulInt8RowPortable, fast, rng, "shift " + std::to_string(shift));
    }
  }
}

TEST(RequantizeRowsTest, MulSimdMatchesPortable) {
  SKIP_WITHOUT_AVX2();
  for (const auto& [name, fast] : FastRows(&MulInt8RowAvx2, &MulInt8RowAvx512)) {
    SCOPED_TRACE(name);
    CheckMulRows(fast);
  }
}

void CheckAddSubRows(AddSubInt8RowFn fast) {
  std::mt19937 rng(6);
  for (int trial = 0; trial < 300; ++trial) {
    const quant::QuantParams q1 = RandomQuant(rng, -14, 4), q2 = RandomQuant(rng, -14, 4);
    const quant::QuantParams qo = RandomQuant(rng, -14, 4);
    const auto act = trial % 5 == 0 ? FusedActivation::kRelu6 : FusedActivation::kNone;
    Result<AddSubParams> p = PrepareAddSub(IntType::kInt8, q1, q2, qo, act, trial % 2 == 1);
    if (!p.ok()) continue;
    ExpectRowsEqual(*p, &AddSubInt8RowPortable, fast, rng, "trial " + std::to_string(trial));
  }
  // Equal scales give exact ties of the input rescale (multiplier 2^30, shift 0).
  Result<AddSubParams> ties = PrepareAddSub(IntType::kInt8, {0.5f, -128}, {0.5f, 127}, {0.25f, 3},
                                            FusedActivation::kNone, false);
  ASSERT_TRUE(ties.ok());
  ExpectRowsEqual(*ties, &AddSubInt8RowPortable, fast, rng, "ties");
}

TEST(RequantizeRowsTest, AddSubSimdMatchesPortable) {
  SKIP_WITHOUT_AVX2();
  for (const auto& [name, fast] : FastRows(&AddSubInt8RowAvx2, &AddSubInt8RowAvx512)) {
    SCOPED_TRACE(name);
    CheckAddSubRows(fast);
  }
}

// The rows of a broadcast, each through `row`, give the reference kernel's output.
TEST(BroadcastRowsTest, RowsReproduceTheReferenceKernels) {
  std::mt19937 rng(7);
  struct Case {
    std::vector<int64_t> a, b;
    size_t rows, row_length, outer_dims;
  };
  const Case cases[] = {
      {{1, 9, 37}, {1, 9, 37}, 1, 333, 0},     // same shape: one row
      {{1, 9, 37}, {37}, 9, 37, 1},            // norm weight over the last axis
      {{1, 9, 37}, {1, 9, 1}, 9, 37, 1},       // x * rsqrt(mean)
      {{1, 1, 37}, {1, 1, 1}, 1, 37, 0},       // the same in decode
      {{5, 1, 8}, {1, 3, 8}, 15, 8, 2},        // both broadcast
      {{3, 1}, {1, 11}, 3, 11, 1},             //
      {{}, {}, 1, 1, 0},                       // scalars
      {{4, 0, 2}, {2}, 0, 0, 0},               //
      {{2, 3, 4, 8}, {8}, 24, 8, 1},           // outer dimensions merged into one walk
      {{1, 7, 3, 4}, {1, 7, 1, 4}, 21, 4, 2},  // RoPE: x [T, H, D/2] * cos [T, 1, D/2]
      {{2, 1, 2, 1, 2, 1, 5}, {1, 2, 1, 2, 1, 2, 5}, 64, 5, 6},  // the most dims held
  };
  for (const Case& c : cases) {
    Result<BroadcastPlan> plan = MakeBroadcastPlan(c.a, c.b);
    ASSERT_TRUE(plan.ok());
    BroadcastRows rows;
    ASSERT_TRUE(MakeBroadcastRows(*plan, &rows));
    EXPECT_EQ(rows.count, c.rows);
    EXPECT_EQ(rows.row_length, c.row_length);
    EXPECT_EQ(rows.num_dims, c.outer_dims);
    const std::vector<int8_t> a = RandomInt8(static_cast<size_t>(plan->input1_size), rng);
    const std::vector<int8_t> b = RandomInt8(static_cast<size_t>(plan->input2_size), rng);
    const auto out_n = static_cast<size_t>(plan->output_size);
    ASSERT_OK_AND_ASSIGN(MulParams mul, PrepareMul(IntType::kInt8, {0.02f, 3}, {0.01f, -128},
                                                   {0.001f, 127}, FusedActivation::kNone));
    ASSERT_OK_AND_ASSIGN(AddSubParams sub,
                         PrepareAddSub(IntType::kInt8, {0.02f, 3}, {0.01f, -128}, {0.03f, -5},
                                       FusedActivation::kNone, true));
    std::vector<int8_t> expected(out_n), actual(out_n);
    MulInt8(mul, *plan, a, b, expected);
    ForEachBroadcastRow(rows, [&](int64_t i1, int64_t i2, int64_t o) {
      BestMulInt8Row()(mul, a.data() + i1, rows.step1, b.data() + i2, rows.step2, actual.data() + o,
                       rows.row_length);
    });
    EXPECT_EQ(actual, expected);
    AddSubInt8(sub, *plan, a, b, expected);
    ForEachBroadcastRow(rows, [&](int64_t i1, int64_t i2, int64_t o) {
      BestAddSubInt8Row()(sub, a.data() + i1, rows.step1, b.data() + i2, rows.step2,
                          actual.data() + o, rows.row_length);
    });
    EXPECT_EQ(actual, expected);
    // A cursor started at any row (a thread's share of the rows) continues the walk.
    std::vector<std::pair<int64_t, int64_t>> starts;
    ForEachBroadcastRow(rows, [&](int64_t i1, int64_t i2, int64_t) { starts.push_back({i1, i2}); });
    for (size_t first = 0; first < rows.count; ++first) {
      BroadcastRowCursor cursor(rows, first);
      for (size_t r = first; r < rows.count; ++r, cursor.Next()) {
        ASSERT_EQ(std::make_pair(cursor.offset1(), cursor.offset2()), starts[r])
            << "row " << r << " from " << first;
      }
    }
  }
}

// Eight outer dimensions that cannot merge: more than BroadcastRows holds.
TEST(BroadcastRowsTest, TooManyOuterDimensionsAreRefused) {
  Result<BroadcastPlan> plan = MakeBroadcastPlan(std::vector<int64_t>{2, 1, 2, 1, 2, 1, 2, 1, 3},
                                                 std::vector<int64_t>{1, 2, 1, 2, 1, 2, 1, 2, 3});
  ASSERT_TRUE(plan.ok());
  BroadcastRows rows;
  EXPECT_FALSE(MakeBroadcastRows(*plan, &rows));
}

}  // namespace
}  // namespace liteq::runtime::quantized
