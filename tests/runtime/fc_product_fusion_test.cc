// MUL(m, FC(x)) with the FC on integer weights runs as one kernel (PlanBuilder::
// PlanFcProductFusion): the FC's output never takes memory and the product overwrites
// m. Its outputs must be the bits of the same model with the FC's output also a
// signature output (which keeps the two ops apart), on every path of the weight-only
// kernel (GEMV, int4 x int8 GEMV, dequantize-then-GEMM) and across threads.
#include <gtest/gtest.h>

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
  DType dtype;
  int rows, in, out;  // activation rows, FC input and output channels
  bool bias;
  bool fc_first;  // MUL(FC(x), m) instead of MUL(m, FC(x))
  int threads;
};

// act = g + g (an arena tensor the product may overwrite), y = FC(x, DEQUANTIZE(w)),
// product = act * y, out = product + g. With `y_is_output`, y is also an output.
std::shared_ptr<graph::Model> BuildModel(const Case& c, bool y_is_output) {
  std::mt19937 rng(11);
  GraphBuilder b;
  b.BeginSignature("run");
  std::uniform_int_distribution<int> byte(0, 255);
  const size_t elements = static_cast<size_t>(c.out) * c.in;
  std::vector<uint8_t> bytes(c.dtype == DType::kInt4 ? elements / 2 : elements);
  for (auto& v : bytes) v = static_cast<uint8_t>(byte(rng));
  const int w = b.Const("w", c.dtype, {c.out, c.in}, bytes);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  graph::QuantParams& q = b.sg().tensors[w].quant;
  q.scale.resize(c.out);
  for (size_t i = 0; i < q.scale.size(); ++i) q.scale[i] = scale(rng);
  q.zero_point.assign(q.scale.size(), 0);
  q.quantized_dimension = 0;
  const int deq = b.Tensor("w_f", DType::kFloat32, {c.out, c.in});
  b.Op(OpCode::kDequantize, {w}, {deq});
  int bias = -1;
  if (c.bias) {
    std::vector<float> values(c.out);
    for (int i = 0; i < c.out; ++i) values[i] = 0.25f * std::sin(0.7f * static_cast<float>(i));
    std::vector<uint8_t> raw(values.size() * sizeof(float));
    std::memcpy(raw.data(), values.data(), raw.size());
    bias = b.Const("bias", DType::kFloat32, {c.out}, raw);
  }
  const int x = b.Input("x", DType::kFloat32, {c.rows, c.in});
  const int g = b.Input("g", DType::kFloat32, {c.rows, c.out});
  const int act = b.Tensor("act", DType::kFloat32, {c.rows, c.out});
  b.Op(OpCode::kAdd, {g, g}, {act}, graph::BinaryOptions{});
  const int y = b.Tensor("y", DType::kFloat32, {c.rows, c.out});
  b.Op(OpCode::kFullyConnected, {x, deq, bias}, {y}, graph::FullyConnectedOptions{});
  const int product = b.Tensor("product", DType::kFloat32, {c.rows, c.out});
  b.Op(OpCode::kMul, c.fc_first ? std::vector<int>{y, act} : std::vector<int>{act, y}, {product},
       graph::BinaryOptions{});
  const int out = b.Tensor("out", DType::kFloat32, {c.rows, c.out});
  b.Op(OpCode::kAdd, {product, g}, {out}, graph::BinaryOptions{});
  b.Output("out", out);
  if (y_is_output) b.Output("y", y);
  return b.model();
}

std::vector<float> RunModel(SignatureRunner& runner, const Case& c) {
  auto x = runner.Input("x");
  auto g = runner.Input("g");
  EXPECT_TRUE(x.ok() && g.ok());
  if (!x.ok() || !g.ok()) return {};
  for (size_t i = 0; i < x->as<float>().size(); ++i) {
    x->as<float>()[i] = 2.0f * std::sin(0.31f * static_cast<float>(i)) - 0.5f;
  }
  for (size_t i = 0; i < g->as<float>().size(); ++i) {
    g->as<float>()[i] = 1.5f * std::cos(0.17f * static_cast<float>(i));
  }
  const Status s = runner.Invoke();
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto out = runner.Output("out");
  EXPECT_TRUE(out.ok());
  if (!out.ok()) return {};
  EXPECT_EQ(out->as<float>().size(), static_cast<size_t>(c.rows) * c.out);
  return std::vector<float>(out->as<float>().begin(), out->as<float>().end());
}

class FcProductFusionTest : public ::testing::TestWithParam<Case> {};

TEST_P(FcProductFusionTest, SameBitsAsTheTwoOpsAndNoBlockForTheFcOutput) {
  const Case c = GetParam();
  std::vector<float> results[2];
  for (int fused = 0; fused < 2; ++fused) {
    InterpreterOptions options;
    options.num_threads = c.threads;
    ASSERT_OK_AND_ASSIGN(auto interpreter,
                         Interpreter::Create(BuildModel(c, /*y_is_output=*/fused == 0), options));
    ASSERT_OK_AND_ASSIGN(SignatureRunner * runner, interpreter->GetSignature("run"));
    const PlanReport& report = runner->plan_report();
    EXPECT_EQ(report.integer_weight_fcs, 1);
    EXPECT_EQ(report.fused_fc_products, fused);
    if (fused) {
      // act only: y is never stored, the product overwrites act.
      const size_t block = (static_cast<size_t>(c.rows) * c.out * sizeof(float) + 63) / 64 * 64;
      EXPECT_EQ(report.arena_bytes, block);
    }
    results[fused] = RunModel(*runner, c);
  }
  ASSERT_FALSE(results[0].empty());
  ASSERT_EQ(results[0].size(), results[1].size());
  EXPECT_EQ(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)),
            0);
}

INSTANTIATE_TEST_SUITE_P(
    Paths, FcProductFusionTest,
    ::testing::Values(Case{"int8_gemv", DType::kInt8, 2, 40, 37, true, false, 1},
                      Case{"int8_gemv_2_threads", DType::kInt8, 3, 40, 301, false, true, 2},
                      Case{"int4_q8_gemv", DType::kInt4, 2, 64, 37, true, true, 2},
                      Case{"int4_gemm", DType::kInt4, 6, 64, 37, false, false, 1},
                      Case{"int8_gemm_2_threads", DType::kInt8, 5, 64, 803, true, false, 2},
                      Case{"int4_gemm_2_threads", DType::kInt4, 9, 64, 803, false, true, 2}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// MUL(v, FC(x)) where v is a view of x (RESHAPE to the same shape): the FC reads every
// element of x for each output, so the product must not overwrite v's bytes.
TEST(FcProductFusion, ProductDoesNotOverwriteTheFcInput) {
  constexpr int kRows = 7, kDim = 520;  // square FC; two GEMM chunks of weight rows
  for (int view = 0; view < 2; ++view) {
    std::vector<float> results[2];
    for (int fused = 0; fused < 2; ++fused) {
      std::mt19937 rng(5);
      GraphBuilder b;
      b.BeginSignature("run");
      std::vector<uint8_t> bytes(kDim * kDim);
      std::uniform_int_distribution<int> byte(0, 255);
      for (auto& v : bytes) v = static_cast<uint8_t>(byte(rng));
      const int w = b.Const("w", DType::kInt8, {kDim, kDim}, bytes);
      graph::QuantParams& q = b.sg().tensors[w].quant;
      q.scale.assign(kDim, 0.01f);
      q.zero_point.assign(kDim, 0);
      q.quantized_dimension = 0;
      const int deq = b.Tensor("w_f", DType::kFloat32, {kDim, kDim});
      b.Op(OpCode::kDequantize, {w}, {deq});
      const int in = b.Input("x", DType::kFloat32, {kRows, kDim});
      const int x = b.Tensor("x2", DType::kFloat32, {kRows, kDim});
      b.Op(OpCode::kAdd, {in, in}, {x}, graph::BinaryOptions{});
      int m = x;
      if (view) {
        m = b.Tensor("x_view", DType::kFloat32, {kRows, kDim});
        b.Op(OpCode::kReshape, {x, b.ConstI("shape", {2}, {kRows, kDim})}, {m});
      }
      const int y = b.Tensor("y", DType::kFloat32, {kRows, kDim});
      b.Op(OpCode::kFullyConnected, {x, deq, -1}, {y}, graph::FullyConnectedOptions{});
      const int product = b.Tensor("product", DType::kFloat32, {kRows, kDim});
      b.Op(OpCode::kMul, {m, y}, {product}, graph::BinaryOptions{});
      const int out = b.Tensor("out", DType::kFloat32, {kRows, kDim});
      b.Op(OpCode::kAdd, {product, in}, {out}, graph::BinaryOptions{});
      b.Output("out", out);
      if (!fused) b.Output("y", y);
      InterpreterOptions options;
      options.num_threads = 2;
      ASSERT_OK_AND_ASSIGN(auto interpreter, Interpreter::Create(b.model(), options));
      ASSERT_OK_AND_ASSIGN(SignatureRunner * runner, interpreter->GetSignature("run"));
      // m == x is not fused; a view of x is, without overwriting it.
      EXPECT_EQ(runner->plan_report().fused_fc_products, fused && view ? 1 : 0);
      ASSERT_OK_AND_ASSIGN(TensorView xv, runner->Input("x"));
      for (size_t i = 0; i < xv.as<float>().size(); ++i) {
        xv.as<float>()[i] = std::sin(0.013f * static_cast<float>(i));
      }
      ASSERT_OK(runner->Invoke());
      ASSERT_OK_AND_ASSIGN(TensorView o, runner->Output("out"));
      results[fused].assign(o.as<float>().begin(), o.as<float>().end());
    }
    ASSERT_EQ(results[0].size(), static_cast<size_t>(kRows) * kDim);
    EXPECT_EQ(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)),
              0)
        << (view ? "view of x" : "x itself");
  }
}

}  // namespace
}  // namespace liteq::runtime::testing
