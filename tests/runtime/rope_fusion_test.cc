// RoPE (SLICE, SLICE, CONCATENATION, MUL, MUL, ADD [, MUL by a scalar]) run as one
// kernel (runtime/rope_fusion.h) gives the values of the ops run one by one: int8 with
// the scalar reference kernels and with the fast ones, float (the same bits) with the
// scalar float kernels and with the SIMD ones, for either operand order of every MUL and
// ADD, with and without the q scale, one token or many, on 1 and 2 threads. Patterns
// the kernel does not compute (a slice that is not a half) stay unfused.
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
  bool float32 = false;
};

// `x2_begin` moves the second slice (the half it takes when D / 2).
std::shared_ptr<graph::Model> RopeModel(const Case& c, int x2_begin) {
  GraphBuilder g;
  g.BeginSignature("run");
  const int t = c.tokens, h = c.heads, d = c.depth, half = d / 2;
  // int8 per tensor with these parameters, or float32.
  auto tensor = [&](const std::string& name, Shape shape, float scale, int zero_point,
                    bool input = false) {
    if (!c.float32) return g.Int8(name, std::move(shape), scale, zero_point, input);
    return input ? g.Input(name, DType::kFloat32, std::move(shape))
                 : g.Tensor(name, DType::kFloat32, std::move(shape));
  };
  const int x = tensor("x", {1, t, h, d}, 0.015f, 1, /*input=*/true);
  const int cos = tensor("cos", {1, t, 1, d}, 1.0f / 127, 0, true);
  const int sin = tensor("sin", {1, t, 1, d}, 1.0f / 127, 0, true);
  const int x1 = tensor("x1", {1, t, h, half}, 0.015f, 1);
  g.Op(OpCode::kSlice,
       {x, g.ConstI("b1", {4}, {0, 0, 0, 0}), g.ConstI("s1", {4}, {-1, -1, -1, half})}, {x1});
  const int x2 = tensor("x2", {1, t, h, half}, 0.015f, 1);
  g.Op(OpCode::kSlice,
       {x, g.ConstI("b2", {4}, {0, 0, 0, x2_begin}), g.ConstI("s2", {4}, {1, t, h, half})}, {x2});
  const int swapped = tensor("swapped", {1, t, h, d}, 0.015f, 1);
  g.Op(OpCode::kConcatenation, {x2, x1}, {swapped}, graph::ConcatenationOptions{.axis = -1});
  auto ordered = [&](int main, int other) {
    return c.swap_operands ? std::vector<int>{other, main} : std::vector<int>{main, other};
  };
  const int x_cos = tensor("x_cos", {1, t, h, d}, 0.0149f, 3);
  g.Op(OpCode::kMul, ordered(x, cos), {x_cos}, graph::BinaryOptions{});
  const int swapped_sin = tensor("swapped_sin", {1, t, h, d}, 0.0131f, -2);
  g.Op(OpCode::kMul, ordered(swapped, sin), {swapped_sin}, graph::BinaryOptions{});
  const int sum = tensor("sum", {1, t, h, d}, 0.0152f, 1);
  g.Op(OpCode::kAdd, ordered(x_cos, swapped_sin), {sum}, graph::BinaryOptions{});
  int out = sum;
  if (c.scaled) {
    int k;
    if (c.float32) {
      k = g.ConstF("q_scale", {}, {0.125f});
    } else {
      k = g.Const("q_scale", DType::kInt8, {}, std::vector<int8_t>{101});
      g.sg().tensors[k].quant.scale = {0.125f / 101};
      g.sg().tensors[k].quant.zero_point = {0};
    }
    out = tensor("scaled", {1, t, h, d}, 0.0023f, -3);
    g.Op(OpCode::kMul, ordered(sum, k), {out}, graph::BinaryOptions{});
  }
  g.Output("out", out);
  return g.model();
}

// The output's bytes.
std::vector<uint8_t> RunRope(const std::shared_ptr<graph::Model>& model, InterpreterOptions options,
                             bool float32, int* fused) {
  auto interpreter = Interpreter::Create(model, options);
  EXPECT_TRUE(interpreter.ok()) << interpreter.status().ToString();
  if (!interpreter.ok()) return {};
  auto runner = (*interpreter)->GetSignature("run");
  EXPECT_TRUE(runner.ok());
  if (!runner.ok()) return {};
  *fused = (*runner)->plan_report().fused_rope;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> value(-128, 127);
  std::uniform_real_distribution<float> real(-3.0f, 3.0f);
  for (const char* name : {"x", "cos", "sin"}) {
    auto in = (*runner)->Input(name);
    EXPECT_TRUE(in.ok());
    if (!in.ok()) return {};
    if (float32) {
      for (float& v : in->as<float>()) v = real(rng);
    } else {
      for (int8_t& v : in->as<int8_t>()) v = static_cast<int8_t>(value(rng));
    }
  }
  const Status s = (*runner)->Invoke();
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto out = (*runner)->Output("out");
  EXPECT_TRUE(out.ok());
  if (!out.ok()) return {};
  const auto bytes = out->as<uint8_t>();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

class RopeFusionTest : public ::testing::TestWithParam<Case> {};

TEST_P(RopeFusionTest, SameValuesAsTheOpsOneByOne) {
  const Case c = GetParam();
  const auto model = RopeModel(c, c.depth / 2);
  InterpreterOptions fast;
  fast.num_threads = c.threads;
  InterpreterOptions reference = fast;  // int8: scalar references; float: scalar kernels
  (c.float32 ? reference.use_scalar_float_kernels : reference.use_reference_kernels) = true;
  InterpreterOptions unfused_fast = fast;
  unfused_fast.preserve_all_tensors = true;
  int fused = -1, reference_fused = -1, unfused_fast_fused = -1;
  const std::vector<uint8_t> got = RunRope(model, fast, c.float32, &fused);
  const std::vector<uint8_t> want = RunRope(model, reference, c.float32, &reference_fused);
  const std::vector<uint8_t> want_fast =
      RunRope(model, unfused_fast, c.float32, &unfused_fast_fused);
  EXPECT_EQ(fused, 1);
  EXPECT_EQ(reference_fused, 0);
  EXPECT_EQ(unfused_fast_fused, 0);
  const size_t element = c.float32 ? sizeof(float) : 1;
  ASSERT_EQ(got.size(), static_cast<size_t>(c.tokens) * c.heads * c.depth * element);
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
                      Case{"prefill_2_threads_swapped", 37, 9, 64, true, false, 2},
                      Case{"float_one_token", 1, 3, 8, false, false, 1, true},
                      Case{"float_operands_swapped_scaled", 7, 9, 64, true, true, 1, true},
                      Case{"float_prefill_2_threads", 128, 4, 64, false, true, 2, true},
                      Case{"float_prefill_2_threads_swapped", 37, 9, 64, true, false, 2, true}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(RopeFusion, SliceOtherThanTheHalfStaysUnfused) {
  const Case c{"shifted", 4, 2, 8, false, false, 1};
  int fused = -1;
  const std::vector<uint8_t> got = RunRope(RopeModel(c, c.depth / 2 - 1), {}, false, &fused);
  EXPECT_EQ(fused, 0);
  EXPECT_EQ(got.size(), 64u);
}

}  // namespace
}  // namespace liteq::runtime::testing
