// int8 RoPE (SLICE, SLICE, CONCATENATION, MUL, MUL, ADD [, MUL by a scalar]) run as one
// kernel (runtime/rope_fusion.h) gives the int8 values of the ops run one by one, with
// the scalar reference kernels and with the fast ones, for either operand order of every
// MUL and ADD, with and without the q scale, one token or many, on 1 and 2 threads.
// Patterns the kernel does not compute (a slice that is not a half) stay unfused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "graph_builder.h"
#include "runtime/interpreter.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

struct Case {
  const char* name;
  int tokens, heads, depth;
  bool swap_operands;  // MUL(cos, x), MUL(sin, swapped), ADD(swapped_sin, x_cos), MUL(c, sum)
  bool scaled;
  int threads;
};

// `x2_begin` moves the second slice (the half it takes when D / 2).
std::shared_ptr<graph::Model> RopeModel(const Case& c, int x2_begin) {
  GraphBuilder g;
  g.BeginSignature("run");
  const int t = c.tokens, h = c.heads, d = c.depth, half = d / 2;
  const int x = g.Int8("x", {1, t, h, d}, 0.015f, 1, /*input=*/true);
  const int cos = g.Int8("cos", {1, t, 1, d}, 1.0f / 127, 0, true);
  const int sin = g.Int8("sin", {1, t, 1, d}, 1.0f / 127, 0, true);
  const int x1 = g.Int8("x1", {1, t, h, half}, 0.015f, 1);
  g.Op(OpCode::kSlice,
       {x, g.ConstI("b1", {4}, {0, 0, 0, 0}), g.ConstI("s1", {4}, {-1, -1, -1, half})}, {x1});
  const int x2 = g.Int8("x2", {1, t, h, half}, 0.015f, 1);
  g.Op(OpCode::kSlice,
       {x, g.ConstI("b2", {4}, {0, 0, 0, x2_begin}), g.ConstI("s2", {4}, {1, t, h, half})}, {x2});
  const int swapped = g.Int8("swapped", {1, t, h, d}, 0.015f, 1);
  g.Op(OpCode::kConcatenation, {x2, x1}, {swapped}, graph::ConcatenationOptions{.axis = -1});
  auto ordered = [&](int main, int other) {
    return c.swap_operands ? std::vector<int>{other, main} : std::vector<int>{main, other};
  };
  const int x_cos = g.Int8("x_cos", {1, t, h, d}, 0.0149f, 3);
  g.Op(OpCode::kMul, ordered(x, cos), {x_cos}, graph::BinaryOptions{});
  const int swapped_sin = g.Int8("swapped_sin", {1, t, h, d}, 0.0131f, -2);
  g.Op(OpCode::kMul, ordered(swapped, sin), {swapped_sin}, graph::BinaryOptions{});
  const int sum = g.Int8("sum", {1, t, h, d}, 0.0152f, 1);
  g.Op(OpCode::kAdd, ordered(x_cos, swapped_sin), {sum}, graph::BinaryOptions{});
  int out = sum;
  if (c.scaled) {
    const int k = g.Const("q_scale", DType::kInt8, {}, std::vector<int8_t>{101});
    g.sg().tensors[k].quant.scale = {0.125f / 101};
    g.sg().tensors[k].quant.zero_point = {0};
    out = g.Int8("scaled", {1, t, h, d}, 0.0023f, -3);
    g.Op(OpCode::kMul, ordered(sum, k), {out}, graph::BinaryOptions{});
  }
  g.Output("out", out);
  return g.model();
}

std::vector<int8_t> RunRope(const std::shared_ptr<graph::Model>& model, InterpreterOptions options,
                            int* fused) {
  auto interpreter = Interpreter::Create(model, options);
  EXPECT_TRUE(interpreter.ok()) << interpreter.status().ToString();
  if (!interpreter.ok()) return {};
  auto runner = (*interpreter)->GetSignature("run");
  EXPECT_TRUE(runner.ok());
  if (!runner.ok()) return {};
  *fused = (*runner)->plan_report().fused_rope;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> value(-128, 127);
  for (const char* name : {"x", "cos", "sin"}) {
    auto in = (*runner)->Input(name);
    EXPECT_TRUE(in.ok());
    if (!in.ok()) return {};
    for (int8_t& v : in->as<int8_t>()) v = static_cast<int8_t>(value(rng));
  }
  const Status s = (*runner)->Invoke();
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto out = (*runner)->Output("out");
  EXPECT_TRUE(out.ok());
  if (!out.ok()) return {};
  return std::vector<int8_t>(out->as<int8_t>().begin(), out->as<int8_t>().end());
}

class RopeFusionTest : public ::testing::TestWithParam<Case> {};

TEST_P(RopeFusionTest, SameInt8AsTheOpsOneByOne) {
  const Case c = GetParam();
  const auto model = RopeModel(c, c.depth / 2);
  InterpreterOptions fast;
  fast.num_threads = c.threads;
  InterpreterOptions reference = fast;
  reference.use_reference_kernels = true;
  InterpreterOptions unfused_fast = fast;
  unfused_fast.preserve_all_tensors = true;
  int fused = -1, reference_fused = -1, unfused_fast_fused = -1;
  const std::vector<int8_t> got = RunRope(model, fast, &fused);
  const std::vector<int8_t> want = RunRope(model, reference, &reference_fused);
  const std::vector<int8_t> want_fast = RunRope(model, unfused_fast, &unfused_fast_fused);
  EXPECT_EQ(fused, 1);
  EXPECT_EQ(reference_fused, 0);
  EXPECT_EQ(unfused_fast_fused, 0);
  ASSERT_EQ(got.size(), static_cast<size_t>(c.tokens) * c.heads * c.depth);
  EXPECT_EQ(got, want);
  EXPECT_EQ(got, want_fast);
  // Not a constant output: the comparison means something.
  EXPECT_NE(*std::min_element(got.begin(), got.end()), *std::max_element(got.begin(), got.end()));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RopeFusionTest,
    ::testing::Values(Case{"one_token", 1, 3, 8, false, false, 1},
                      Case{"q_scaled", 5, 3, 8, false, true, 1},
                      Case{"operands_swapped", 7, 2, 6, true, false, 1},
                      Case{"operands_swapped_scaled", 7, 9, 64, true, true, 1},
                      // 128 x 4 x 64 = 32K elements: split over the pool.
                      Case{"prefill_2_threads", 128, 4, 64, false, true, 2},
                      Case{"prefill_2_threads_swapped", 37, 9, 64, true, false, 2}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(RopeFusion, SliceOtherThanTheHalfStaysUnfused) {
  const Case c{"shifted", 4, 2, 8, false, false, 1};
  int fused = -1;
  const std::vector<int8_t> got = RunRope(RopeModel(c, c.depth / 2 - 1), {}, &fused);
  EXPECT_EQ(fused, 0);
  EXPECT_EQ(got.size(), 64u);
}

}  // namespace
}  // namespace liteq::runtime::testing
