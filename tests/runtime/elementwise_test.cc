// Elementwise, reduction and softmax kernels on hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>

#include "graph_builder.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

constexpr float kTol = 1e-6f;

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, float tol = kTol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

TEST(Binary, AddBroadcastsRowAndColumn) {
  // [2,1] + [3] -> [2,3]
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kAdd, graph::BinaryOptions{},
                      {F({2, 1}, {10, 20}), F({3}, {1, 2, 3})}, {{DType::kFloat32, {2, 3}}}));
  ExpectNear(out[0].f(), {11, 12, 13, 21, 22, 23});
}

TEST(Binary, MulBroadcastsMiddleDimsRank4) {
  // [2,1,2,1] * [1,3,1,2] -> [2,3,2,2]
  std::vector<float> a = {1, 2, 3, 4};
  std::vector<float> b = {1, 10, 100, 1000, 10000, 100000};
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kMul, graph::BinaryOptions{},
                      {F({2, 1, 2, 1}, a), F({1, 3, 1, 2}, b)}, {{DType::kFloat32, {2, 3, 2, 2}}}));
  std::vector<float> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k)
        for (int l = 0; l < 2; ++l) want.push_back(a[i * 2 + k] * b[j * 2 + l]);
  ExpectNear(out[0].f(), want);
}

TEST(Binary, SubWithScalarAndFusedRelu) {
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp(OpCode::kSub, graph::BinaryOptions{graph::Activation::kRelu},
                             {F({4}, {1, 2, 3, 4}), CF({}, {2.5f})}, {{DType::kFloat32, {4}}}));
  ExpectNear(out[0].f(), {0, 0, 0.5f, 1.5f});
}

TEST(Binary, DivMaxMinSquaredDifferencePow) {
  auto a = F({3}, {1, -4, 9});
  auto b = F({3}, {2, 2, -3});
  ASSERT_OK_AND_ASSIGN(
      auto d, RunOp(OpCode::kDiv, graph::BinaryOptions{}, {a, b}, {{DType::kFloat32, {3}}}));
  ExpectNear(d[0].f(), {0.5f, -2, -3});
  ASSERT_OK_AND_ASSIGN(
      auto mx, RunOp(OpCode::kMaximum, graph::NoOptions{}, {a, b}, {{DType::kFloat32, {3}}}));
  ExpectNear(mx[0].f(), {2, 2, 9});
  ASSERT_OK_AND_ASSIGN(
      auto mn, RunOp(OpCode::kMinimum, graph::NoOptions{}, {a, b}, {{DType::kFloat32, {3}}}));
  ExpectNear(mn[0].f(), {1, -4, -3});
  ASSERT_OK_AND_ASSIGN(auto sq, RunOp(OpCode::kSquaredDifference, graph::NoOptions{}, {a, b},
                                      {{DType::kFloat32, {3}}}));
  ExpectNear(sq[0].f(), {1, 36, 144});
  ASSERT_OK_AND_ASSIGN(auto pw,
                       RunOp(OpCode::kPow, graph::NoOptions{}, {F({3}, {2, 3, 4}), F({1}, {0.5f})},
                             {{DType::kFloat32, {3}}}));
  ExpectNear(pw[0].f(), {std::sqrt(2.0f), std::sqrt(3.0f), 2});
}

TEST(Binary, IntegerArithmeticWrapsAndDivisionByZeroIsAnError) {
  ASSERT_OK_AND_ASSIGN(auto add,
                       RunOp(OpCode::kAdd, graph::BinaryOptions{},
                             {I({2}, {INT32_MAX, 5}), I({2}, {1, -7})}, {{DType::kInt32, {2}}}));
  EXPECT_EQ(add[0].i(), (std::vector<int32_t>{INT32_MIN, -2}));
  ASSERT_OK_AND_ASSIGN(
      auto div, RunOp(OpCode::kDiv, graph::BinaryOptions{},
                      {I({3}, {7, -7, INT32_MIN}), I({3}, {2, 2, -1})}, {{DType::kInt32, {3}}}));
  EXPECT_EQ(div[0].i(), (std::vector<int32_t>{3, -3, INT32_MIN}));
  ASSERT_OK_AND_ASSIGN(auto pw, RunOp(OpCode::kPow, graph::NoOptions{},
                                      {I({2}, {3, -2}), I({2}, {4, 3})}, {{DType::kInt32, {2}}}));
  EXPECT_EQ(pw[0].i(), (std::vector<int32_t>{81, -8}));
  auto zero = RunOp(OpCode::kDiv, graph::BinaryOptions{}, {I({2}, {1, 2}), I({2}, {1, 0})},
                    {{DType::kInt32, {2}}});
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("division by zero"), std::string::npos)
      << zero.status().ToString();
  EXPECT_NE(zero.status().message().find("op 0 DIV"), std::string::npos)
      << zero.status().ToString();
}

TEST(Binary, RejectsIncompatibleShapesAndWrongDeclaredOutput) {
  auto bad = RunOp(OpCode::kAdd, graph::BinaryOptions{},
                   {F({2, 3}, std::vector<float>(6)), F({2}, {1, 2})}, {{DType::kFloat32, {2, 3}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cannot be broadcast"), std::string::npos)
      << bad.status().ToString();
  auto wrong_out = RunOp(OpCode::kAdd, graph::BinaryOptions{}, {F({2}, {1, 2}), F({2}, {1, 2})},
                         {{DType::kFloat32, {3}}});
  ASSERT_FALSE(wrong_out.ok());
  EXPECT_NE(wrong_out.status().message().find("declared [3] but the op computes [2]"),
            std::string::npos)
      << wrong_out.status().ToString();
  auto mixed = RunOp(OpCode::kAdd, graph::BinaryOptions{}, {F({2}, {1, 2}), I({2}, {1, 2})},
                     {{DType::kFloat32, {2}}});
  ASSERT_FALSE(mixed.ok());
}

TEST(Compare, ComparisonsBroadcastToBool) {
  auto a = F({2, 2}, {1, 2, 3, 4});
  auto b = F({2}, {2, 3});
  const std::vector<OutSpec> out = {{DType::kBool, {2, 2}}};
  ASSERT_OK_AND_ASSIGN(auto lt, RunOp(OpCode::kLess, graph::NoOptions{}, {a, b}, out));
  EXPECT_EQ(lt[0].b(), (std::vector<uint8_t>{1, 1, 0, 0}));
  ASSERT_OK_AND_ASSIGN(auto le, RunOp(OpCode::kLessEqual, graph::NoOptions{}, {a, b}, out));
  EXPECT_EQ(le[0].b(), (std::vector<uint8_t>{1, 1, 0, 0}));
  ASSERT_OK_AND_ASSIGN(auto gt, RunOp(OpCode::kGreater, graph::NoOptions{}, {a, b}, out));
  EXPECT_EQ(gt[0].b(), (std::vector<uint8_t>{0, 0, 1, 1}));
  ASSERT_OK_AND_ASSIGN(auto ge,
                       RunOp(OpCode::kGreaterEqual, graph::NoOptions{}, {a, F({2}, {1, 4})}, out));
  EXPECT_EQ(ge[0].b(), (std::vector<uint8_t>{1, 0, 1, 1}));
  ASSERT_OK_AND_ASSIGN(auto eq, RunOp(OpCode::kEqual, graph::NoOptions{},
                                      {I({2, 2}, {1, 2, 3, 4}), I({1}, {3})}, out));
  EXPECT_EQ(eq[0].b(), (std::vector<uint8_t>{0, 0, 1, 0}));
}

TEST(Compare, LogicalAndAndSelectV2BuildACausalMask) {
  // positions q in rows, k in columns: mask = (k <= q) AND (k >= 0); select 0 / -inf.
  auto q = I({3, 1}, {0, 1, 2});
  auto k = I({3}, {0, 1, 2});
  ASSERT_OK_AND_ASSIGN(
      auto le, RunOp(OpCode::kLessEqual, graph::NoOptions{}, {k, q}, {{DType::kBool, {3, 3}}}));
  ASSERT_OK_AND_ASSIGN(auto both,
                       RunOp(OpCode::kLogicalAnd, graph::NoOptions{},
                             {B({3, 3}, le[0].b()), B({3}, {1, 1, 0})}, {{DType::kBool, {3, 3}}}));
  EXPECT_EQ(both[0].b(), (std::vector<uint8_t>{1, 0, 0, 1, 1, 0, 1, 1, 0}));
  // Non-0/1 bytes count as true.
  ASSERT_OK_AND_ASSIGN(auto sel, RunOp(OpCode::kSelectV2, graph::NoOptions{},
                                       {B({3, 1}, {7, 0, 1}), CF({}, {0.0f}), F({1, 2}, {-1, -2})},
                                       {{DType::kFloat32, {3, 2}}}));
  ExpectNear(sel[0].f(), {0, 0, -1, -2, 0, 0});
}

TEST(Unary, MathFunctions) {
  const std::vector<float> x = {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f};
  auto run = [&](OpCode code, graph::OpOptions opts = graph::NoOptions{}) {
    auto r = RunOp(code, opts, {F({5}, x)}, {{DType::kFloat32, {5}}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)[0].f() : std::vector<float>();
  };
  auto map = [&](float (*f)(float)) {
    std::vector<float> v;
    for (float e : x) v.push_back(f(e));
    return v;
  };
  ExpectNear(run(OpCode::kNeg), {2, 0.5f, 0, -0.5f, -3});
  ExpectNear(run(OpCode::kAbs), {2, 0.5f, 0, 0.5f, 3});
  ExpectNear(run(OpCode::kExp), map([](float v) { return std::exp(v); }));
  ExpectNear(run(OpCode::kSquare), {4, 0.25f, 0, 0.25f, 9});
  ExpectNear(run(OpCode::kSin), map([](float v) { return std::sin(v); }));
  ExpectNear(run(OpCode::kCos), map([](float v) { return std::cos(v); }));
  ExpectNear(run(OpCode::kTanh), map([](float v) { return std::tanh(v); }));
  ExpectNear(run(OpCode::kLogistic), map([](float v) { return 1.0f / (1.0f + std::exp(-v)); }));
  ExpectNear(run(OpCode::kRelu), {0, 0, 0, 0.5f, 3});
  // GELU at x = 1: exact 0.8413447 (= Phi(1)); tanh form 0.8411920.
  ASSERT_OK_AND_ASSIGN(auto exact, RunOp(OpCode::kGelu, graph::GeluOptions{false},
                                         {F({2}, {1.0f, -1.0f})}, {{DType::kFloat32, {2}}}));
  ExpectNear(exact[0].f(), {0.8413447f, -0.1586553f}, 1e-6f);
  ASSERT_OK_AND_ASSIGN(auto approx, RunOp(OpCode::kGelu, graph::GeluOptions{true},
                                          {F({2}, {1.0f, -1.0f})}, {{DType::kFloat32, {2}}}));
  ExpectNear(approx[0].f(), {0.8411920f, -0.1588080f}, 1e-6f);
  ASSERT_OK_AND_ASSIGN(auto sq, RunOp(OpCode::kSqrt, graph::NoOptions{}, {F({2}, {4, 9})},
                                      {{DType::kFloat32, {2}}}));
  ExpectNear(sq[0].f(), {2, 3});
  ASSERT_OK_AND_ASSIGN(auto rs, RunOp(OpCode::kRsqrt, graph::NoOptions{}, {F({2}, {4, 0.25f})},
                                      {{DType::kFloat32, {2}}}));
  ExpectNear(rs[0].f(), {0.5f, 2});
  ASSERT_OK_AND_ASSIGN(auto ineg, RunOp(OpCode::kNeg, graph::NoOptions{}, {I({2}, {5, INT32_MIN})},
                                        {{DType::kInt32, {2}}}));
  EXPECT_EQ(ineg[0].i(), (std::vector<int32_t>{-5, INT32_MIN}));
  auto int_exp = RunOp(OpCode::kExp, graph::NoOptions{}, {I({1}, {1})}, {{DType::kInt32, {1}}});
  EXPECT_EQ(int_exp.status().code(), StatusCode::kUnimplemented);
}

TEST(Softmax, LastAxisWithBetaIsStableForLargeLogits) {
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kSoftmax, graph::SoftmaxOptions{2.0f},
                      {F({2, 3}, {1, 2, 3, 1000, 1000, 1000})}, {{DType::kFloat32, {2, 3}}}));
  const float e0 = std::exp(-4.0f), e1 = std::exp(-2.0f), s = e0 + e1 + 1.0f;
  ExpectNear(out[0].f(), {e0 / s, e1 / s, 1.0f / s, 1.0f / 3, 1.0f / 3, 1.0f / 3});
}

TEST(Reduce, MeanSumMaxWithNegativeAxesAndKeepDims) {
  // x[2,3,2] = 0..11
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[i] = static_cast<float>(i);
  ASSERT_OK_AND_ASSIGN(auto mean_last,
                       RunOp(OpCode::kMean, graph::ReducerOptions{true},
                             {F({2, 3, 2}, x), CI({1}, {-1})}, {{DType::kFloat32, {2, 3, 1}}}));
  ExpectNear(mean_last[0].f(), {0.5f, 2.5f, 4.5f, 6.5f, 8.5f, 10.5f});
  // Middle axis (not a suffix): sum over dim 1 -> [2,2]
  ASSERT_OK_AND_ASSIGN(auto sum_mid,
                       RunOp(OpCode::kSum, graph::ReducerOptions{false},
                             {F({2, 3, 2}, x), CI({1}, {1})}, {{DType::kFloat32, {2, 2}}}));
  ExpectNear(sum_mid[0].f(), {0 + 2 + 4, 1 + 3 + 5, 6 + 8 + 10, 7 + 9 + 11});
  // Axes 0 and -1 (duplicated 2 ignored) -> [3]
  ASSERT_OK_AND_ASSIGN(auto max_outer,
                       RunOp(OpCode::kReduceMax, graph::ReducerOptions{false},
                             {F({2, 3, 2}, x), CI({3}, {0, -1, 2})}, {{DType::kFloat32, {3}}}));
  ExpectNear(max_outer[0].f(), {7, 9, 11});
  ASSERT_OK_AND_ASSIGN(auto mean_outer,
                       RunOp(OpCode::kMean, graph::ReducerOptions{true},
                             {F({2, 3, 2}, x), CI({2}, {0, 2})}, {{DType::kFloat32, {1, 3, 1}}}));
  ExpectNear(mean_outer[0].f(), {3.5f, 5.5f, 7.5f});
  ASSERT_OK_AND_ASSIGN(auto isum,
                       RunOp(OpCode::kSum, graph::ReducerOptions{false},
                             {I({2, 2}, {1, 2, 3, 4}), CI({1}, {0})}, {{DType::kInt32, {2}}}));
  EXPECT_EQ(isum[0].i(), (std::vector<int32_t>{4, 6}));
  auto bad_axis = RunOp(OpCode::kMean, graph::ReducerOptions{false},
                        {F({2, 2}, {1, 2, 3, 4}), CI({1}, {2})}, {{DType::kFloat32, {2}}});
  ASSERT_FALSE(bad_axis.ok());
  EXPECT_NE(bad_axis.status().message().find("axis 2 is out of range"), std::string::npos);
}

}  // namespace
}  // namespace liteq::runtime::testing
