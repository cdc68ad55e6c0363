// The planner's memory savings on a llama-style MLP tail: MUL(x, LOGISTIC(x)) runs as
// one fused SiLU kernel whose sigmoid never takes arena space, and a float elementwise
// binary op overwrites an operand nobody reads afterwards. Both must give the same
// bits as the plain plan (preserve_all_tensors: no fusion, every tensor its own
// block), also with tails that are not a whole SIMD vector and with two threads. int8
// ADD, SUB and MUL overwrite dead operands too (TFLite arithmetic only).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "graph_builder.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

// gate = x + y, up = x - y, out = silu(gate) * up + y (out is the signature's own
// buffer; gate, up and everything between them are arena tensors).
std::shared_ptr<graph::Model> SiluMlpModel(Shape shape) {
  GraphBuilder g;
  g.BeginSignature("main");
  const int x = g.Input("x", DType::kFloat32, shape);
  const int y = g.Input("y", DType::kFloat32, shape);
  const int gate = g.Tensor("gate", DType::kFloat32, shape);
  g.Op(OpCode::kAdd, {x, y}, {gate});
  const int up = g.Tensor("up", DType::kFloat32, shape);
  g.Op(OpCode::kSub, {x, y}, {up});
  const int sigmoid = g.Tensor("sigmoid", DType::kFloat32, shape);
  g.Op(OpCode::kLogistic, {gate}, {sigmoid});
  const int silu = g.Tensor("silu", DType::kFloat32, shape);
  g.Op(OpCode::kMul, {gate, sigmoid}, {silu});
  const int product = g.Tensor("product", DType::kFloat32, shape);
  g.Op(OpCode::kMul, {silu, up}, {product});
  const int out = g.Tensor("out", DType::kFloat32, shape);
  g.Op(OpCode::kAdd, {product, y}, {out});
  g.Output("out", out);
  return g.model();
}

// Runs `main` on deterministic inputs with large, small and negative values.
std::vector<float> RunMain(Interpreter& interpreter, size_t n) {
  auto r = interpreter.GetSignature("main");
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return {};
  auto x = (*r)->Input("x");
  auto y = (*r)->Input("y");
  EXPECT_TRUE(x.ok() && y.ok());
  if (!x.ok() || !y.ok()) return {};
  for (size_t i = 0; i < n; ++i) {
    x->as<float>()[i] = 9.0f * std::sin(0.37f * static_cast<float>(i));
    y->as<float>()[i] = 4.0f * std::cos(0.11f * static_cast<float>(i)) - 1.0f;
  }
  const Status s = (*r)->Invoke();
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto out = (*r)->Output("out");
  EXPECT_TRUE(out.ok());
  if (!out.ok()) return {};
  return std::vector<float>(out->as<float>().begin(), out->as<float>().end());
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class InPlaceMlpTest : public ::testing::TestWithParam<int> {};

TEST_P(InPlaceMlpTest, FusedSiluAndInPlaceProductsNeedTwoBlocksAndGiveTheSameBits) {
  const int threads = GetParam();
  // 3 x 37 = 111 floats (a 444-byte block, 448 aligned): tails in every SIMD loop.
  // With 2 threads, 5 x 2001 floats: above the size from which the kernels split.
  const Shape shape = threads == 1 ? Shape{3, 37} : Shape{5, 2001};
  const size_t n = static_cast<size_t>(shape[0]) * shape[1];
  const size_t block = (n * sizeof(float) + 63) / 64 * 64;

  InterpreterOptions options;
  options.num_threads = threads;
  ASSERT_OK_AND_ASSIGN(auto fused, Interpreter::Create(SiluMlpModel(shape), options));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * r, fused->GetSignature("main"));
  // gate and up only: silu and product overwrite gate, the sigmoid is never stored.
  EXPECT_EQ(r->plan_report().arena_bytes, 2 * block);
  EXPECT_EQ(r->plan_report().aliased_tensors, 2);

  InterpreterOptions plain = options;
  plain.preserve_all_tensors = true;  // unfused, nothing shared
  ASSERT_OK_AND_ASSIGN(auto reference, Interpreter::Create(SiluMlpModel(shape), plain));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * p, reference->GetSignature("main"));
  EXPECT_EQ(p->plan_report().arena_bytes, 5 * block);

  const std::vector<float> got = RunMain(*fused, n);
  const std::vector<float> want = RunMain(*reference, n);
  ASSERT_EQ(got.size(), n);
  EXPECT_TRUE(SameBits(got, want));
  // Spot check against the formula (the SIMD sigmoid is within 4e-7 relative).
  const float x0 = 0.0f, y0 = 3.0f;  // element 0: x = 9 sin 0, y = 4 cos 0 - 1
  const float gate0 = x0 + y0, up0 = x0 - y0;
  const float want0 = gate0 / (1.0f + std::exp(-gate0)) * up0 + y0;
  EXPECT_NEAR(got[0], want0, 1e-5f * std::fabs(want0));
}

INSTANTIATE_TEST_SUITE_P(Threads, InPlaceMlpTest, ::testing::Values(1, 2));

TEST(InPlaceElementwise, UnfusedScalarKernelsStillOverwriteDeadOperands) {
  // The scalar float kernels keep LOGISTIC and MUL apart (no fusion), but the
  // products still take the storage of an operand that dies with them.
  const Shape shape{3, 37};
  const size_t n = 111, block = 448;
  InterpreterOptions scalar;
  scalar.use_scalar_float_kernels = true;
  ASSERT_OK_AND_ASSIGN(auto in_place, Interpreter::Create(SiluMlpModel(shape), scalar));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * r, in_place->GetSignature("main"));
  EXPECT_EQ(r->plan_report().arena_bytes, 3 * block);  // gate, up, sigmoid
  InterpreterOptions plain = scalar;
  plain.preserve_all_tensors = true;
  ASSERT_OK_AND_ASSIGN(auto reference, Interpreter::Create(SiluMlpModel(shape), plain));
  EXPECT_TRUE(SameBits(RunMain(*in_place, n), RunMain(*reference, n)));
}

TEST(InPlaceElementwise, OperandReadLaterKeepsItsStorage) {
  // m = a * y, out = a + m: a is read after the MUL, so m needs its own block.
  GraphBuilder g;
  g.BeginSignature("main");
  const Shape shape{2, 9};
  const int x = g.Input("x", DType::kFloat32, shape);
  const int y = g.Input("y", DType::kFloat32, shape);
  const int a = g.Tensor("a", DType::kFloat32, shape);
  g.Op(OpCode::kAdd, {x, x}, {a});
  const int m = g.Tensor("m", DType::kFloat32, shape);
  g.Op(OpCode::kMul, {a, y}, {m});
  const int out = g.Tensor("out", DType::kFloat32, shape);
  g.Op(OpCode::kAdd, {a, m}, {out});
  g.Output("out", out);
  ASSERT_OK_AND_ASSIGN(auto interpreter, Interpreter::Create(g.model()));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * r, interpreter->GetSignature("main"));
  EXPECT_EQ(r->plan_report().aliased_tensors, 0);
  EXPECT_EQ(r->plan_report().arena_bytes, 2 * 128u);
  const std::vector<float> got = RunMain(*interpreter, 18);
  ASSERT_EQ(got.size(), 18u);
  for (size_t i = 0; i < 18; ++i) {
    const float xi = 9.0f * std::sin(0.37f * static_cast<float>(i));
    const float yi = 4.0f * std::cos(0.11f * static_cast<float>(i)) - 1.0f;
    const float ai = xi + xi;
    const float mi = ai * yi;
    EXPECT_EQ(got[i], ai + mi) << i;
  }
}

// int8: a = x + y, m = a * y, n = m - x, r = n * col (col [rows, 1] broadcast along
// the row), out = r + y. m, n and r can each overwrite the operand before them, so
// the arena holds one block where the plain plan needs four.
std::shared_ptr<graph::Model> Int8ChainModel(Shape shape) {
  GraphBuilder g;
  g.BeginSignature("main");
  auto quantized = [&](int t, float scale, int64_t zero_point) {
    g.sg().tensors[t].quant = PerTensor(scale, zero_point);
    return t;
  };
  const int x = quantized(g.Input("x", DType::kInt8, shape), 0.05f, -3);
  const int y = quantized(g.Input("y", DType::kInt8, shape), 0.03f, 7);
  const int col = quantized(g.Input("col", DType::kInt8, {shape[0], 1}), 0.02f, 0);
  const int a = quantized(g.Tensor("a", DType::kInt8, shape), 0.07f, 1);
  g.Op(OpCode::kAdd, {x, y}, {a});
  const int m = quantized(g.Tensor("m", DType::kInt8, shape), 0.09f, -5);
  g.Op(OpCode::kMul, {a, y}, {m});
  const int n = quantized(g.Tensor("n", DType::kInt8, shape), 0.11f, 2);
  g.Op(OpCode::kSub, {m, x}, {n});
  const int r = quantized(g.Tensor("r", DType::kInt8, shape), 0.04f, -1);
  g.Op(OpCode::kMul, {n, col}, {r});
  const int out = quantized(g.Tensor("out", DType::kInt8, shape), 0.06f, 4);
  g.Op(OpCode::kAdd, {r, y}, {out});
  g.Output("out", out);
  return g.model();
}

std::vector<int8_t> RunInt8Chain(Interpreter& interpreter, const Shape& shape) {
  auto r = interpreter.GetSignature("main");
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return {};
  auto x = (*r)->Input("x");
  auto y = (*r)->Input("y");
  auto col = (*r)->Input("col");
  EXPECT_TRUE(x.ok() && y.ok() && col.ok());
  if (!x.ok() || !y.ok() || !col.ok()) return {};
  const size_t n = static_cast<size_t>(shape[0]) * static_cast<size_t>(shape[1]);
  for (size_t i = 0; i < n; ++i) {
    x->as<int8_t>()[i] = static_cast<int8_t>((i * 37 + 11) % 256 - 128);
    y->as<int8_t>()[i] = static_cast<int8_t>((i * 101 + 3) % 256 - 128);
  }
  for (int i = 0; i < shape[0]; ++i) col->as<int8_t>()[i] = static_cast<int8_t>(40 * i - 90);
  const Status s = (*r)->Invoke();
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto out = (*r)->Output("out");
  EXPECT_TRUE(out.ok());
  if (!out.ok()) return {};
  return std::vector<int8_t>(out->as<int8_t>().begin(), out->as<int8_t>().end());
}

struct Int8InPlaceCase {
  int threads;
  bool reference_kernels;
};

class InPlaceInt8Test : public ::testing::TestWithParam<Int8InPlaceCase> {};

TEST_P(InPlaceInt8Test, ArithmeticOverwritesDeadOperandsWithTheSameResults) {
  const auto [threads, reference_kernels] = GetParam();
  // 3 x 37 bytes: tails in every SIMD row; 5 x 8001 with two threads: above the size
  // from which the kernels split the rows across the pool.
  const Shape shape = threads == 1 ? Shape{3, 37} : Shape{5, 8001};
  const size_t block = (static_cast<size_t>(shape[0]) * shape[1] + 63) / 64 * 64;
  InterpreterOptions options;
  options.num_threads = threads;
  options.use_reference_kernels = reference_kernels;
  ASSERT_OK_AND_ASSIGN(auto in_place, Interpreter::Create(Int8ChainModel(shape), options));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * r, in_place->GetSignature("main"));
  EXPECT_EQ(r->plan_report().aliased_tensors, 3);
  EXPECT_EQ(r->plan_report().arena_bytes, block);

  InterpreterOptions plain = options;
  plain.preserve_all_tensors = true;
  ASSERT_OK_AND_ASSIGN(auto reference, Interpreter::Create(Int8ChainModel(shape), plain));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * p, reference->GetSignature("main"));
  EXPECT_EQ(p->plan_report().arena_bytes, 4 * block);

  const std::vector<int8_t> got = RunInt8Chain(*in_place, shape);
  ASSERT_EQ(got.size(), static_cast<size_t>(shape[0]) * shape[1]);
  EXPECT_EQ(got, RunInt8Chain(*reference, shape));
}

INSTANTIATE_TEST_SUITE_P(Kernels, InPlaceInt8Test,
                         ::testing::Values(Int8InPlaceCase{1, false}, Int8InPlaceCase{2, false},
                                           Int8InPlaceCase{1, true}));

TEST(InPlaceElementwise, XnnpackInt8ArithmeticKeepsItsOwnOutputs) {
  const Shape shape{3, 37};
  InterpreterOptions xnnpack;
  xnnpack.int8_arithmetic = Int8Arithmetic::kXnnpack;
  ASSERT_OK_AND_ASSIGN(auto interpreter, Interpreter::Create(Int8ChainModel(shape), xnnpack));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * r, interpreter->GetSignature("main"));
  EXPECT_EQ(r->plan_report().aliased_tensors, 0);
}

}  // namespace
}  // namespace liteq::runtime::testing
