// The fused RMSNorm statistic (runtime/inverse_rms_fusion.h) against the ops it
// replaces: rsqrt(mean(x^2) + eps), from float x and from int8 x through DEQUANTIZE to a
// float or int8 (QUANTIZE) result, gives the same bits as the plain plan
// (preserve_all_tensors: no fusion), for rows whose length is no whole SIMD vector and
// on 1 to 3 threads; a chain whose square is read elsewhere, or whose MEAN is over
// another axis, runs unfused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "graph_builder.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

struct Chain {
  bool int8_input;
  bool int8_output;
  bool square_is_output;  // the squares are also a signature output: no fusion
  int32_t axis = -1;      // of the MEAN; 1 (rows, in a square [1, n, n]): no fusion
};

// out = [QUANTIZE](RSQRT(ADD(MEAN(MUL(x, x), -1), eps))), x = [DEQUANTIZE](in), and
// y = MUL(x_or_in, out) so that x is read after the statistic, as in RMSNorm.
std::shared_ptr<graph::Model> ChainModel(const Chain& c, int rows, int depth) {
  GraphBuilder g;
  g.BeginSignature("main");
  const DType in_type = c.int8_input ? DType::kInt8 : DType::kFloat32;
  const int in = g.Input("in", in_type, {1, rows, depth});
  if (c.int8_input) g.sg().tensors[in].quant = PerTensor(0.037f, 3);
  int x = in;
  if (c.int8_input) {
    x = g.Tensor("x", DType::kFloat32, {1, rows, depth});
    g.Op(OpCode::kDequantize, {in}, {x});
  }
  const int squares = g.Tensor("squares", DType::kFloat32, {1, rows, depth});
  g.Op(OpCode::kMul, {x, x}, {squares}, graph::BinaryOptions{});
  const int axis = g.ConstI("axis", {1}, {c.axis});
  const Shape reduced = c.axis == 1 ? Shape{1, 1, depth} : Shape{1, rows, 1};
  const int mean = g.Tensor("mean", DType::kFloat32, reduced);
  g.Op(OpCode::kMean, {squares, axis}, {mean}, graph::ReducerOptions{true});
  const int eps = g.ConstF("eps", {}, {1e-5f});
  const int sum = g.Tensor("sum", DType::kFloat32, reduced);
  g.Op(OpCode::kAdd, {mean, eps}, {sum}, graph::BinaryOptions{});
  int out = g.Tensor("inverse", DType::kFloat32, reduced);
  g.Op(OpCode::kRsqrt, {sum}, {out});
  if (c.int8_output) {
    const int q = g.Tensor("inverse_q", DType::kInt8, reduced);
    g.sg().tensors[q].quant = PerTensor(0.011f, -20);
    g.Op(OpCode::kQuantize, {out}, {q});
    out = q;
  }
  g.Output("out", out);
  if (c.square_is_output) g.Output("squares", squares);
  // The normalization's own MUL reads x (float) after the statistic.
  if (!c.int8_input && !c.int8_output && c.axis != 1) {
    const int y = g.Tensor("y", DType::kFloat32, {1, rows, depth});
    g.Op(OpCode::kMul, {x, out}, {y}, graph::BinaryOptions{});
    g.Output("y", y);
  }
  return g.model();
}

// The bytes of every output of `main` after one Invoke on deterministic inputs.
std::vector<uint8_t> RunChain(const std::shared_ptr<graph::Model>& model, const Chain& c, int rows,
                              int depth, InterpreterOptions options, int* fused) {
  auto interpreter = Interpreter::Create(model, options);
  EXPECT_TRUE(interpreter.ok()) << interpreter.status().ToString();
  if (!interpreter.ok()) return {};
  auto r = (*interpreter)->GetSignature("main");
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return {};
  *fused = (*r)->plan_report().fused_inverse_rms;
  auto in = (*r)->Input("in");
  EXPECT_TRUE(in.ok());
  if (!in.ok()) return {};
  for (int i = 0; i < rows * depth; ++i) {
    const float v =
        3.0f * std::sin(0.71f * static_cast<float>(i)) + 0.02f * static_cast<float>(i % 7);
    if (c.int8_input) {
      in->as<int8_t>()[i] =
          static_cast<int8_t>(std::lround(std::clamp(v * 40.0f, -128.0f, 127.0f)));
    } else {
      in->as<float>()[i] = v;
    }
  }
  const Status s = (*r)->Invoke();
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::vector<uint8_t> bytes;
  for (const auto& [name, t] : (*r)->signature().outputs) {
    auto out = (*r)->Output(name);
    EXPECT_TRUE(out.ok());
    if (!out.ok()) return {};
    const auto* p = static_cast<const uint8_t*>(out->data);
    bytes.insert(bytes.end(), p, p + out->bytes);
  }
  return bytes;
}

TEST(InverseRmsFusion, SameBitsAsTheOps) {
  for (const Chain& c :
       {Chain{false, false, false}, Chain{true, true, false}, Chain{true, false, false},
        Chain{false, true, false}, Chain{false, false, true}, Chain{true, true, false, 1}}) {
    const bool fusable = !c.square_is_output && c.axis != 1;
    for (const auto& [rows, depth] :
         {std::pair{1, 5}, std::pair{37, 19}, std::pair{130, 576}, std::pair{19, 19}}) {
      if (c.axis == 1 && rows != depth) continue;
      const auto model = ChainModel(c, rows, depth);
      InterpreterOptions plain;
      plain.preserve_all_tensors = true;
      int fused = 0;
      const std::vector<uint8_t> expected = RunChain(model, c, rows, depth, plain, &fused);
      ASSERT_FALSE(expected.empty());
      EXPECT_EQ(fused, 0);
      for (int threads : {1, 2, 3}) {
        SCOPED_TRACE(::testing::Message()
                     << "int8 in " << c.int8_input << " int8 out " << c.int8_output << " rows "
                     << rows << " depth " << depth << " threads " << threads);
        InterpreterOptions options;
        options.num_threads = threads;
        const std::vector<uint8_t> actual = RunChain(model, c, rows, depth, options, &fused);
        EXPECT_EQ(fused, fusable ? 1 : 0);
        ASSERT_EQ(actual.size(), expected.size());
        EXPECT_EQ(std::memcmp(actual.data(), expected.data(), actual.size()), 0);
      }
    }
  }
}

}  // namespace
}  // namespace liteq::runtime::testing
