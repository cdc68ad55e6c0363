// int16 LOGISTIC and TANH (runtime/kernels/quantized/logistic_tanh_int16.h): the
// sigmoid table, cases computed by hand from TFLite's interpolation formula, the ends
// of the range, monotonicity (table path) and symmetry over every int16 input for
// table and fixed-point paths, Prepare's checks, and the interpreter's wiring. Bit equality with
// LiteRT itself is asserted in tests/e2e/litert_int_conformance_test.cc
// (Int16LogisticTanhMatchLiteRt).
#include "runtime/kernels/quantized/logistic_tanh_int16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "quantized_test_util.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;
using quantized::Int16SigmoidParams;

constexpr quant::QuantParams kOut{1.0f / 32768, 0};

const std::vector<int16_t>& AllInt16() {
  static const std::vector<int16_t> all = [] {
    std::vector<int16_t> v;
    for (int q = -32768; q <= 32767; ++q) v.push_back(static_cast<int16_t>(q));
    return v;
  }();
  return all;
}

std::vector<int16_t> Logistic(float scale, const std::vector<int16_t>& q) {
  Result<Int16SigmoidParams> p = quantized::PrepareLogisticInt16({scale, 0}, kOut);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  std::vector<int16_t> out(q.size());
  if (p.ok()) quantized::LogisticInt16(*p, q, out);
  return out;
}

std::vector<int16_t> Tanh(float scale, const std::vector<int16_t>& q) {
  Result<Int16SigmoidParams> p = quantized::PrepareTanhInt16({scale, 0}, kOut);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  std::vector<int16_t> out(q.size());
  if (p.ok()) quantized::TanhInt16(*p, q, out);
  return out;
}

// Power-of-two input scales (the fixed-point path where TFLite takes it) and general
// ones (the table).
const float kScales[] = {1.0f / 4096, 1.0f / 2048, 1.0f / 1024, 1.0f / 8192, 0.0003f, 0.0011f};

TEST(Int16SigmoidTable, EntriesFollowTheRule) {
  const auto& table = quantized::SigmoidTableUint16();
  // sigmoid(0) = 1/2 exactly; the curve is linear around 0, so no correction.
  EXPECT_EQ(table[0], 32768);
  EXPECT_EQ(table[255], 65535);  // pinned: 65536 sigmoid(255/24) rounds to 65536
  for (int i = 0; i < 255; ++i) {
    // Non-decreasing (flat near the top, where sigmoid moves less than a step).
    EXPECT_LE(table[i], table[i + 1]) << i;
    // Within 1.5 steps of 65536 sigmoid(i/24): half the midpoint error of linear
    // interpolation over 1/24 (at most ~1.1 steps) plus the rounding.
    const double exact = 65536.0 / (1.0 + std::exp(-i / 24.0));
    EXPECT_LE(std::abs(table[i] - exact), 1.5) << i;
  }
  // sigmoid is concave for x > 0, so the chord lies below the curve and entries are
  // moved up where the curvature is largest: at i = 35 (65536 sigmoid(35/24) =
  // 53167.9, midpoint error 1.35) the entry is above the curve by more than rounding.
  EXPECT_GT(table[35] - 65536.0 / (1.0 + std::exp(-35 / 24.0)), 0.5);
}

TEST(Int16Logistic, HandComputedCases) {
  // Scale 2^-11 (general path: multiplier 24576, shift 12): table position
  // (24576 q + 2048) >> 12 = 6q, in 512ths of a table step (24 steps per unit).
  // q = 0: table[0] = 32768 in 0.16 -> (32768 * 512 + 512) >> 10 = 16384 (one half).
  // q = 2048 (x = 1): position 24 exactly, (table[24] * 512 + 512) >> 10 with
  //   table[24] = round(65536 sigmoid(1) = 47910.66 + correction) = 47911 -> 23956
  //   (32768 sigmoid(1) = 23955.3).
  // q = -2048: (2^25 - 47911 * 512 + 511) >> 10 = 8812 = 32768 - 23956.
  EXPECT_EQ(Logistic(1.0f / 2048, {0, 2048, -2048}), (std::vector<int16_t>{16384, 23956, 8812}));
  // q = 1: position 6 (26624 >> 12) between table[0] = 32768 and table[1] = 33451:
  //   (32768 * 512 + 6 * 683 + 512) >> 10 = 16388.
  EXPECT_EQ(Logistic(1.0f / 2048, {1}), (std::vector<int16_t>{16388}));
}

TEST(Int16Tanh, HandComputedCases) {
  // Scale 2^-13 (general path: multiplier 24576, shift 14): position 1.5q in 256ths
  // of a table step (tanh(x) = 2 sigmoid(2x) - 1).
  // q = 0: (32768 << 8) - 2^23 + 128 = 128, >> 8 = 0.
  // q = 4096 (x = 1/2): position 24 exactly: (47911 << 8) - 2^23 + 128 = 3876736,
  //   >> 8 = 15143 (32768 tanh(0.5) = 15142.7); q = -4096 mirrors it.
  // q = 8192 (x = 1): position 48: 32768 tanh(1) = 24955.9 -> 24956.
  EXPECT_EQ(Tanh(1.0f / 8192, {0, 4096, -4096, 8192, -8192}),
            (std::vector<int16_t>{0, 15143, -15143, 24956, -24956}));
}

TEST(Int16Logistic, SaturatesAtBothEnds) {
  // Scale 2^-10: the int16 range is +-32, far past the table's +-10.6.
  const std::vector<int16_t> out = Logistic(1.0f / 1024, {32767, -32768, 16000, -16000});
  // Past the table TFLite's constant 0x7FFF << 10 gives 32767, and its mirror
  // (2^25 - 0x7FFF * 1024 + 511) >> 10 = 1 (not 0).
  EXPECT_EQ(out, (std::vector<int16_t>{32767, 1, 32767, 1}));
}

TEST(Int16Tanh, SaturatesAtBothEnds) {
  // (0xFFFF << 8) - 2^23 + 128 = 8388416 >> 8 = 32767; mirrored: -32767.
  EXPECT_EQ(Tanh(1.0f / 1024, {32767, -32768, 16000, -16000}),
            (std::vector<int16_t>{32767, -32767, 32767, -32767}));
}

TEST(Int16SigmoidOps, MonotoneAndSymmetricOverAllInputs) {
  for (float scale : kScales) {
    const std::vector<int16_t> lo = Logistic(scale, AllInt16());
    const std::vector<int16_t> th = Tanh(scale, AllInt16());
    // The fixed-point path (power-of-two scales: LOGISTIC 2^-12, TANH 2^-12 and
    // 2^-11) is not monotone: its 16-bit exp and Newton-Raphson steps wobble by a few
    // steps (e.g. LOGISTIC at 2^-12 drops from 845 to 839 at q = -14885; LiteRT
    // computes the same, see the conformance test).
    const bool lo_fixed = scale == 1.0f / 4096;
    const bool th_fixed = scale == 1.0f / 4096 || scale == 1.0f / 2048;
    ASSERT_EQ(lo[32768], 16384) << scale;  // q = 0
    ASSERT_EQ(th[32768], 0) << scale;
    for (size_t i = 1; i < lo.size(); ++i) {
      if (!lo_fixed) {
        ASSERT_LE(lo[i - 1], lo[i]) << "scale " << scale << " q " << AllInt16()[i];
      }
      if (!th_fixed) {
        ASSERT_LE(th[i - 1], th[i]) << "scale " << scale << " q " << AllInt16()[i];
      }
    }
    // q and -q: logistic sums to one, tanh is odd. The fixed-point path computes the
    // negative side as 1 - f(|x|) with 1 = 32767 (Q0.15), and -tanh(|x|), exactly.
    // The table path is exact when the rescale is (2^-11: 6q), else its round-half-up
    // can move -q one table sub-step (1/12288): under one output step for LOGISTIC,
    // under three (32768 / 12288) for TANH.
    const bool lo_exact_rescale = scale == 1.0f / 2048;
    for (int q = 1; q <= 32767; ++q) {
      const size_t pos = static_cast<size_t>(q + 32768), neg = static_cast<size_t>(-q + 32768);
      if (lo_fixed) {
        ASSERT_EQ(lo[pos] + lo[neg], 32767) << scale << " " << q;
      } else {
        ASSERT_LE(std::abs(lo[pos] + lo[neg] - 32768), lo_exact_rescale ? 0 : 1)
            << scale << " " << q;
      }
      ASSERT_LE(std::abs(th[pos] + th[neg]), th_fixed ? 0 : 3) << scale << " " << q;
    }
    // Close to the functions: the table's own error plus the output rounding; the
    // 16-bit fixed-point path is coarser.
    const double lo_tol = lo_fixed ? 1e-3 : 2.5e-4, th_tol = th_fixed ? 1e-3 : 5e-4;
    for (size_t i = 0; i < lo.size(); i += 7) {
      const double x = static_cast<double>(AllInt16()[i]) * scale;
      EXPECT_NEAR(lo[i] / 32768.0, 1.0 / (1.0 + std::exp(-x)), lo_tol) << scale << " " << x;
      EXPECT_NEAR(th[i] / 32768.0, std::tanh(x), th_tol) << scale << " " << x;
    }
  }
}

TEST(Int16SigmoidOps, PrepareChecksTheParameters) {
  EXPECT_FALSE(quantized::PrepareLogisticInt16({0.001f, 0}, {1.0f / 256, 0}).ok());
  EXPECT_FALSE(quantized::PrepareLogisticInt16({0.001f, 0}, {1.0f / 32768, 1}).ok());
  EXPECT_FALSE(quantized::PrepareLogisticInt16({0.001f, 3}, kOut).ok());
  EXPECT_FALSE(quantized::PrepareLogisticInt16({0.0f, 0}, kOut).ok());
  EXPECT_FALSE(quantized::PrepareTanhInt16({0.001f, 0}, {1.0f / 16384, 0}).ok());
  EXPECT_FALSE(quantized::PrepareTanhInt16({0.001f, -1}, kOut).ok());
  // A multiplier past 2^16 would overflow TFLite's int32 product.
  EXPECT_FALSE(quantized::PrepareTanhInt16({8.0f, 0}, kOut).ok());
  // Power-of-two scales (LOGISTIC only 2^-12, TANH 2^-12 and 2^-11; within 1e-3 in
  // log2) take the fixed-point path: multiplier 0, the TANH doubling as shift 1.
  ASSERT_OK_AND_ASSIGN(Int16SigmoidParams a,
                       quantized::PrepareLogisticInt16({1.0f / 4096, 0}, kOut));
  EXPECT_EQ(a.input_multiplier, 0);
  EXPECT_EQ(a.input_left_shift, 0);
  ASSERT_OK_AND_ASSIGN(Int16SigmoidParams b, quantized::PrepareTanhInt16({1.0f / 2048, 0}, kOut));
  EXPECT_EQ(b.input_multiplier, 0);
  EXPECT_EQ(b.input_left_shift, 1);
  ASSERT_OK_AND_ASSIGN(Int16SigmoidParams n,
                       quantized::PrepareTanhInt16({1.0005f / 4096, 0}, kOut));
  EXPECT_EQ(n.input_multiplier, 0);
  // 2^-11 for LOGISTIC takes the general path: 3 * 4096 / 2048 = 6, doubled 12 times
  // to 24576 (the first value above 32767 / 2).
  ASSERT_OK_AND_ASSIGN(Int16SigmoidParams c,
                       quantized::PrepareLogisticInt16({1.0f / 2048, 0}, kOut));
  EXPECT_EQ(c.input_multiplier, 24576);
  EXPECT_EQ(c.input_left_shift, 12);
}

TEST(Int16SigmoidOps, InterpreterRunsTheKernels) {
  for (OpCode code : {OpCode::kLogistic, OpCode::kTanh}) {
    const float scale = 0.0003f;
    ASSERT_OK_AND_ASSIGN(
        auto out, RunOp(code, graph::NoOptions{}, {Q<int16_t>({65536}, AllInt16(), {scale, 0})},
                        {QOut(DType::kInt16, {65536}, kOut)}));
    const std::vector<int16_t> expected =
        code == OpCode::kLogistic ? Logistic(scale, AllInt16()) : Tanh(scale, AllInt16());
    EXPECT_EQ(out[0].as<int16_t>(), expected) << graph::OpCodeName(code);
  }
  // The output parameters TFLite requires are enforced at Prepare.
  EXPECT_FALSE(RunOp(OpCode::kLogistic, graph::NoOptions{}, {Q<int16_t>({2}, {0, 1}, {0.001f, 0})},
                     {QOut(DType::kInt16, {2}, {1.0f / 256, 0})})
                   .ok());
}

}  // namespace
}  // namespace liteq::runtime::testing
