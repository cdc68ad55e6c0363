// int8 MUL(x, LOGISTIC(x)) run as one table lookup (runtime/silu_fusion.h): for every
// int8 value of x, in either operand order, on 1 and 2 threads, the fused kernel gives
// the int8 of the two ops run by the reference kernels and by the fast ones.
#include <gtest/gtest.h>

#include <string>

#include "graph_builder.h"
#include "runtime/interpreter.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

// rows x 256: every row holds every int8 value (shifted by the row).
std::shared_ptr<graph::Model> SiluModel(int rows, bool sigmoid_first) {
  GraphBuilder g;
  g.BeginSignature("run");
  const int x = g.Int8("x", {rows, 256}, 0.043f, -7, /*input=*/true);
  // TFLite's int8 LOGISTIC output parameters.
  const int s = g.Int8("sigmoid", {rows, 256}, 1.0f / 256, -128);
  g.Op(OpCode::kLogistic, {x}, {s});
  const int out = g.Int8("silu", {rows, 256}, 0.031f, -120);
  g.Op(OpCode::kMul, sigmoid_first ? std::vector<int>{s, x} : std::vector<int>{x, s}, {out},
       graph::BinaryOptions{});
  g.Output("out", out);
  return g.model();
}

std::vector<int8_t> RunSilu(int rows, bool sigmoid_first, InterpreterOptions options, int* fused) {
  auto interpreter = Interpreter::Create(SiluModel(rows, sigmoid_first), options);
  EXPECT_TRUE(interpreter.ok()) << interpreter.status().ToString();
  if (!interpreter.ok()) return {};
  auto runner = (*interpreter)->GetSignature("run");
  EXPECT_TRUE(runner.ok());
  if (!runner.ok()) return {};
  *fused = (*runner)->plan_report().fused_silu;
  auto x = (*runner)->Input("x");
  EXPECT_TRUE(x.ok());
  if (!x.ok()) return {};
  for (size_t i = 0; i < x->as<int8_t>().size(); ++i) {
    x->as<int8_t>()[i] = static_cast<int8_t>(static_cast<uint8_t>(i + i / 256));
  }
  EXPECT_TRUE((*runner)->Invoke().ok());
  auto out = (*runner)->Output("out");
  EXPECT_TRUE(out.ok());
  if (!out.ok()) return {};
  return std::vector<int8_t>(out->as<int8_t>().begin(), out->as<int8_t>().end());
}

TEST(SiluInt8Fusion, TableGivesTheTwoOpsInt8ForEveryValue) {
  for (bool sigmoid_first : {false, true}) {
    // 1 row on one thread; 96 rows (24K elements) split over two.
    for (const auto& [rows, threads] : {std::pair{1, 1}, std::pair{96, 2}}) {
      SCOPED_TRACE(std::string(sigmoid_first ? "MUL(sigmoid, x)" : "MUL(x, sigmoid)") +
                   ", threads " + std::to_string(threads));
      InterpreterOptions fast;
      fast.num_threads = threads;
      InterpreterOptions reference = fast;
      reference.use_reference_kernels = true;
      InterpreterOptions unfused_fast = fast;
      unfused_fast.preserve_all_tensors = true;
      int fused = -1, reference_fused = -1, unfused_fused = -1;
      const std::vector<int8_t> got = RunSilu(rows, sigmoid_first, fast, &fused);
      EXPECT_EQ(fused, 1);
      EXPECT_EQ(got, RunSilu(rows, sigmoid_first, reference, &reference_fused));
      EXPECT_EQ(got, RunSilu(rows, sigmoid_first, unfused_fast, &unfused_fused));
      EXPECT_EQ(reference_fused, 0);
      EXPECT_EQ(unfused_fused, 0);
      ASSERT_EQ(got.size(), static_cast<size_t>(rows) * 256);
    }
  }
}

}  // namespace
}  // namespace liteq::runtime::testing
