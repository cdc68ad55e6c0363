// SignatureRunner::SelectOutputRow: the output head computed on one row gives exactly
// that row of the full computation, through the row-wise ops between the FC and the
// output (which run on that row only), for float and int8 (hybrid) weights; outputs it
// cannot restrict are refused.
#include <gtest/gtest.h>

#include <cmath>

#include "graph_builder.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

constexpr int kRows = 5, kDepth = 40, kVocab = 24;

// logits = TANH(FC(x, w) * 0.125), x [1, kRows, kDepth]; the weights are int8 (the
// hybrid kernel) when `int8_weights`.
std::shared_ptr<graph::Model> HeadModel(bool int8_weights, bool extra_reader) {
  GraphBuilder g;
  g.BeginSignature("prefill");
  const int x = g.Input("x", DType::kFloat32, {1, kRows, kDepth});
  int w;
  if (int8_weights) {
    std::vector<int8_t> values(kVocab * kDepth);
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = static_cast<int8_t>((i * 37) % 255 - 127);
    w = g.Const("w", DType::kInt8, {kVocab, kDepth}, values);
    g.sg().tensors[w].quant.scale.assign(kVocab, 0.01f);
    g.sg().tensors[w].quant.zero_point.assign(kVocab, 0);
    g.sg().tensors[w].quant.quantized_dimension = 0;
  } else {
    std::vector<float> values(kVocab * kDepth);
    for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.37f * i);
    w = g.ConstF("w", {kVocab, kDepth}, values);
  }
  const int fc = g.Tensor("fc", DType::kFloat32, {1, kRows, kVocab});
  graph::FullyConnectedOptions options;
  options.keep_num_dims = true;
  g.Op(OpCode::kFullyConnected, {x, w, -1}, {fc}, options);
  const int scale = g.ConstF("scale", {}, {0.125f});
  const int scaled = g.Tensor("scaled", DType::kFloat32, {1, kRows, kVocab});
  g.Op(OpCode::kMul, {fc, scale}, {scaled}, graph::BinaryOptions{});
  const int logits = g.Tensor("logits", DType::kFloat32, {1, kRows, kVocab});
  g.Op(OpCode::kTanh, {scaled}, {logits});
  g.Output("logits", logits);
  if (extra_reader) {  // the FC's output also feeds another output
    const int twice = g.Tensor("twice", DType::kFloat32, {1, kRows, kVocab});
    g.Op(OpCode::kAdd, {fc, fc}, {twice}, graph::BinaryOptions{});
    g.Output("twice", twice);
  }
  return g.model();
}

std::vector<float> InvokeHead(SignatureRunner* r) {
  auto x = r->Input("x");
  EXPECT_TRUE(x.ok());
  auto xs = x->as<float>();
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::cos(0.11f * i) * 3.0f;
  EXPECT_TRUE(r->Invoke().ok());
  auto out = r->Output("logits");
  EXPECT_TRUE(out.ok());
  auto s = out->as<float>();
  return std::vector<float>(s.begin(), s.end());
}

TEST(RowSelect, OneRowEqualsThatRowOfTheFullOutput) {
  for (bool int8_weights : {false, true}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::string(int8_weights ? "int8" : "float") + " weights, " +
                   std::to_string(threads) + " threads");
      InterpreterOptions options;
      options.num_threads = threads;
      auto interp = Interpreter::Create(HeadModel(int8_weights, false), options);
      ASSERT_TRUE(interp.ok()) << interp.status().ToString();
      auto runner = (*interp)->GetSignature("prefill");
      ASSERT_TRUE(runner.ok());
      const std::vector<float> full = InvokeHead(*runner);
      for (int row : {kRows - 1, 0, 2}) {
        ASSERT_TRUE((*runner)->SelectOutputRow("logits", row).ok());
        // Every op from the FC to the output runs on the row only: the output's
        // other rows keep what was there.
        auto out = (*runner)->Output("logits");
        ASSERT_TRUE(out.ok());
        for (float& v : out->as<float>()) v = 42.0f;
        const std::vector<float> one = InvokeHead(*runner);
        for (int r = 0; r < kRows; ++r) {
          for (int v = 0; v < kVocab; ++v) {
            EXPECT_EQ(one[r * kVocab + v], r == row ? full[r * kVocab + v] : 42.0f)
                << "row " << r << " v " << v;
          }
        }
      }
      ASSERT_TRUE((*runner)->SelectOutputRow("logits", -1).ok());
      EXPECT_EQ(InvokeHead(*runner), full);
    }
  }
}

TEST(RowSelect, RefusesWhatItCannotRestrict) {
  auto interp = Interpreter::Create(HeadModel(false, /*extra_reader=*/true));
  ASSERT_TRUE(interp.ok()) << interp.status().ToString();
  auto runner = (*interp)->GetSignature("prefill");
  ASSERT_TRUE(runner.ok());
  // The FC's output is read by another op too: its other rows must stay valid.
  EXPECT_EQ((*runner)->SelectOutputRow("logits", 0).code(), StatusCode::kUnimplemented);
  EXPECT_EQ((*runner)->SelectOutputRow("nope", 0).code(), StatusCode::kNotFound);

  auto plain = Interpreter::Create(HeadModel(false, false));
  ASSERT_TRUE(plain.ok());
  auto r = (*plain)->GetSignature("prefill");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->SelectOutputRow("logits", kRows).code(), StatusCode::kOutOfRange);
  EXPECT_EQ((*r)->SelectOutputRow("logits", -2).code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace liteq::runtime::testing
