// Integer LUT activations, MEAN, hybrid EMBEDDING_LOOKUP, and int8 data movement
// (SELECT_V2, CONCATENATION, GATHER, TRANSPOSE, ...) through the interpreter, plus an
// int8 KV-cache state shared by two signatures.
#include <gtest/gtest.h>

#include <cmath>

#include "quantized_test_util.h"
#include "runtime/kernels/quantized/gather_int.h"
#include "runtime/kernels/quantized/lut_int.h"
#include "runtime/kernels/quantized/mean_int.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;
using quantized::LutFunction;

const std::vector<int8_t>& AllInt8() {
  static const std::vector<int8_t> all = [] {
    std::vector<int8_t> v;
    for (int q = -128; q <= 127; ++q) v.push_back(static_cast<int8_t>(q));
    return v;
  }();
  return all;
}

void CheckLut(OpCode code, graph::OpOptions options, LutFunction function, quant::QuantParams in_q,
              quant::QuantParams out_q) {
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(code, options, {Q<int8_t>({256}, AllInt8(), in_q)},
                                       {QOut(DType::kInt8, {256}, out_q)}));
  ASSERT_OK_AND_ASSIGN(auto lut, quantized::PrepareInt8Lut(function, in_q, out_q));
  std::vector<int8_t> expected(256);
  quantized::ApplyInt8Lut(lut, AllInt8(), expected);
  EXPECT_EQ(out[0].as<int8_t>(), expected) << graph::OpCodeName(code);
}

TEST(QuantizedUnary, LutOpsMatchReference) {
  CheckLut(OpCode::kLogistic, graph::NoOptions{}, LutFunction::kLogistic, {0.05f, 3},
           {1.0f / 256, -128});
  CheckLut(OpCode::kTanh, graph::NoOptions{}, LutFunction::kTanh, {0.03f, -2}, {1.0f / 128, 0});
  CheckLut(OpCode::kGelu, graph::GeluOptions{false}, LutFunction::kGelu, {0.04f, 10},
           {0.03f, -100});
  CheckLut(OpCode::kGelu, graph::GeluOptions{true}, LutFunction::kGeluApproximate, {0.04f, 10},
           {0.03f, -100});
}

TEST(QuantizedUnary, LogisticHandComputed) {
  // Input scale 1, zero point 0: q = 0 -> 0.5 -> 128 - 128 = 0; q = 127 -> ~1 -> 255
  // clamped to 127; q = -128 -> ~0 -> -128.
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kLogistic, graph::NoOptions{},
                                       {Q<int8_t>({3}, {0, 127, -128}, {1.0f, 0})},
                                       {QOut(DType::kInt8, {3}, {1.0f / 256, -128})}));
  EXPECT_EQ(out[0].as<int8_t>(), (std::vector<int8_t>{0, 127, -128}));
  auto bad = RunOp(OpCode::kLogistic, graph::NoOptions{}, {Q<int8_t>({1}, {0}, {1.0f, 0})},
                   {QOut(DType::kInt8, {1}, {1.0f / 128, 0})});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("op 0 LOGISTIC"), std::string::npos);
  // int16 LOGISTIC/TANH have kernels (logistic_tanh_int16_test); int16 GELU has none
  // (TFLite neither).
  auto int16 = RunOp(OpCode::kGelu, graph::GeluOptions{false}, {Q<int16_t>({1}, {0}, {0.001f, 0})},
                     {QOut(DType::kInt16, {1}, {0.001f, 0})});
  ASSERT_FALSE(int16.ok());
  EXPECT_NE(int16.status().message().find("int16"), std::string::npos);
}

TEST(QuantizedMean, LastAxisMatchesReferenceAndHand) {
  // Hand: mean of {1, 2, 3, 4} at equal scales = 2.5 -> 3 (tie towards +infinity).
  ASSERT_OK_AND_ASSIGN(auto hand, RunOp(OpCode::kMean, graph::ReducerOptions{true},
                                        {Q<int8_t>({1, 4}, {1, 2, 3, 4}, {0.5f, 0}), CI({1}, {-1})},
                                        {QOut(DType::kInt8, {1, 1}, {0.5f, 0})}));
  EXPECT_EQ(hand[0].as<int8_t>(), (std::vector<int8_t>{3}));
  const quant::QuantParams in_q{0.07f, -3}, out_q{0.02f, 5};
  const auto x = RandomInts<int8_t>(3 * 5 * 40, -128, 127, 9);
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kMean, graph::ReducerOptions{true},
                                       {Q<int8_t>({3, 5, 40}, x, in_q), CI({1}, {2})},
                                       {QOut(DType::kInt8, {3, 5, 1}, out_q)}));
  const std::vector<int32_t> axes = {2};
  ASSERT_OK_AND_ASSIGN(
      auto p, quantized::PrepareMeanInt8(in_q, std::vector<int64_t>{3, 5, 40}, axes, out_q));
  std::vector<int8_t> expected(15);
  quantized::MeanInt8(p, x, expected);
  EXPECT_EQ(out[0].as<int8_t>(), expected);
  // Non-trailing axes (gemma3n averages its AltUp streams over axis 0) take the
  // reference loop: the same arithmetic.
  ASSERT_OK_AND_ASSIGN(auto middle, RunOp(OpCode::kMean, graph::ReducerOptions{false},
                                          {Q<int8_t>({3, 5, 40}, x, in_q), CI({1}, {1})},
                                          {QOut(DType::kInt8, {3, 40}, out_q)}));
  const std::vector<int32_t> middle_axes = {1};
  ASSERT_OK_AND_ASSIGN(auto pm, quantized::PrepareMeanInt8(in_q, std::vector<int64_t>{3, 5, 40},
                                                           middle_axes, out_q));
  std::vector<int8_t> middle_expected(120);
  quantized::MeanInt8(pm, x, middle_expected);
  EXPECT_EQ(middle[0].as<int8_t>(), middle_expected);
  // Hand: mean over axis 0 of [[1, 3], [5, 7]] at equal scales = {3, 5}.
  ASSERT_OK_AND_ASSIGN(auto first, RunOp(OpCode::kMean, graph::ReducerOptions{true},
                                         {Q<int8_t>({2, 2}, {1, 3, 5, 7}, {0.5f, 0}), CI({1}, {0})},
                                         {QOut(DType::kInt8, {1, 2}, {0.5f, 0})}));
  EXPECT_EQ(first[0].as<int8_t>(), (std::vector<int8_t>{3, 5}));
}

TEST(QuantizedEmbeddingLookup, HybridInt8PerRowAndInt4) {
  // Table [3, 2] int8 with per-row scales {1, 0.5, 0.25}.
  Value table = MakeValue(DType::kInt8, {3, 2}, std::vector<int8_t>{1, -2, 3, 4, -5, 127}, true);
  table.quant.scale = {1.0f, 0.5f, 0.25f};
  table.quant.zero_point = {0, 0, 0};
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kEmbeddingLookup, graph::NoOptions{},
                                       {I({3}, {2, 0, 1}), table}, {{DType::kFloat32, {3, 2}}}));
  EXPECT_EQ(out[0].f(), (std::vector<float>{-1.25f, 31.75f, 1.0f, -2.0f, 1.5f, 2.0f}));
  // Per-tensor int4 against the reference.
  const std::vector<int8_t> values = {1, -2, 7, -8, 3, 0, -1, 5};
  Value t4 = MakeValue(DType::kInt4, {4, 2}, quant::PackInt4(values), true);
  t4.quant = PerTensor(0.3f, 0);
  ASSERT_OK_AND_ASSIGN(auto out4, RunOp(OpCode::kEmbeddingLookup, graph::NoOptions{},
                                        {I({2}, {3, 1}), t4}, {{DType::kFloat32, {2, 2}}}));
  std::vector<float> expected(4);
  const std::vector<float> scales = {0.3f};
  const std::vector<int32_t> ids = {3, 1};
  ASSERT_OK(
      quantized::EmbeddingLookupHybridInt4(quant::PackInt4(values), 4, 2, scales, ids, expected));
  EXPECT_EQ(out4[0].f(), expected);
  // An id outside the table is an error at Invoke, not a crash.
  auto bad = RunOp(OpCode::kEmbeddingLookup, graph::NoOptions{}, {I({1}, {3}), table},
                   {{DType::kFloat32, {1, 2}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("index 3"), std::string::npos) << bad.status().ToString();
}

TEST(QuantizedDataMovement, SelectV2AndConcatenationInt8) {
  const quant::QuantParams q{0.1f, 4};
  ASSERT_OK_AND_ASSIGN(auto sel, RunOp(OpCode::kSelectV2, graph::NoOptions{},
                                       {B({2, 1}, {1, 0}), Q<int8_t>({2, 2}, {1, 2, 3, 4}, q),
                                        Q<int8_t>({2}, {-7, -8}, q)},
                                       {QOut(DType::kInt8, {2, 2}, q)}));
  EXPECT_EQ(sel[0].as<int8_t>(), (std::vector<int8_t>{1, 2, -7, -8}));
  ASSERT_OK_AND_ASSIGN(auto cat,
                       RunOp(OpCode::kConcatenation, graph::ConcatenationOptions{1},
                             {Q<int8_t>({2, 1}, {1, 2}, q), Q<int8_t>({2, 2}, {3, 4, 5, 6}, q)},
                             {QOut(DType::kInt8, {2, 3}, q)}));
  EXPECT_EQ(cat[0].as<int8_t>(), (std::vector<int8_t>{1, 3, 4, 2, 5, 6}));
  auto mixed =
      RunOp(OpCode::kConcatenation, graph::ConcatenationOptions{0},
            {Q<int8_t>({1}, {1}, q), Q<int8_t>({1}, {2}, {0.2f, 4})}, {QOut(DType::kInt8, {2}, q)});
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("'in1' has other quantization parameters"),
            std::string::npos)
      << mixed.status().ToString();
}

TEST(QuantizedDataMovement, Int8AndInt16CopiesKeepValues) {
  const quant::QuantParams q{0.1f, 0};
  const std::vector<int16_t> x16 = {-300, 1, 2, 3, 4, 5000};
  ASSERT_OK_AND_ASSIGN(auto tr, RunOp(OpCode::kTranspose, graph::NoOptions{},
                                      {Q<int16_t>({2, 3}, x16, q), CI({2}, {1, 0})},
                                      {QOut(DType::kInt16, {3, 2}, q)}));
  EXPECT_EQ(tr[0].as<int16_t>(), (std::vector<int16_t>{-300, 3, 1, 4, 2, 5000}));
  const std::vector<int8_t> x8 = {1, 2, 3, 4, 5, 6};
  ASSERT_OK_AND_ASSIGN(
      auto g, RunOp(OpCode::kGather, graph::GatherOptions{0, 0},
                    {Q<int8_t>({3, 2}, x8, q), I({2}, {2, 0})}, {QOut(DType::kInt8, {2, 2}, q)}));
  EXPECT_EQ(g[0].as<int8_t>(), (std::vector<int8_t>{5, 6, 1, 2}));
  ASSERT_OK_AND_ASSIGN(
      auto r, RunOp(OpCode::kReshape, graph::NoOptions{},
                    {Q<int8_t>({3, 2}, x8, q), CI({2}, {2, 3})}, {QOut(DType::kInt8, {2, 3}, q)}));
  EXPECT_EQ(r[0].as<int8_t>(), x8);
  ASSERT_OK_AND_ASSIGN(auto s, RunOp(OpCode::kSlice, graph::NoOptions{},
                                     {Q<int8_t>({3, 2}, x8, q), CI({2}, {1, 1}), CI({2}, {2, 1})},
                                     {QOut(DType::kInt8, {2, 1}, q)}));
  EXPECT_EQ(s[0].as<int8_t>(), (std::vector<int8_t>{4, 6}));
}

// prefill/decode over an int8 cache [4, 2] (scale 0.5, zero point 1): x is quantized,
// written with DYNAMIC_UPDATE_SLICE at row `pos`, and the whole cache dequantized.
void AddInt8CacheSignature(GraphBuilder& g, const std::string& key, int t) {
  g.BeginSignature(key);
  const graph::QuantParams q = PerTensor(0.5f, 1);
  const int x = g.Input("x", DType::kFloat32, {t, 2});
  const int pos = g.Input("pos", DType::kInt32, {2});
  const int kv = g.Input("kv", DType::kInt8, {4, 2});
  g.sg().tensors[kv].quant = q;
  const int xq = g.Tensor("x_q", DType::kInt8, {t, 2});
  g.sg().tensors[xq].quant = q;
  g.Op(OpCode::kQuantize, {x}, {xq});
  const int kv_out = g.Tensor("kv_updated", DType::kInt8, {4, 2});
  g.sg().tensors[kv_out].quant = q;
  g.Op(OpCode::kDynamicUpdateSlice, {kv, xq, pos}, {kv_out});
  const int y = g.Tensor("y", DType::kFloat32, {4, 2});
  g.Op(OpCode::kDequantize, {kv_out}, {y});
  g.Output("y", y);
  g.Output("kv", kv_out);
}

TEST(QuantizedState, Int8CacheSharedBySignaturesInPlace) {
  GraphBuilder g;
  AddInt8CacheSignature(g, "prefill", 2);
  AddInt8CacheSignature(g, "decode", 1);
  ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(g.model()));
  EXPECT_EQ(interp->StateNames(), (std::vector<std::string>{"kv"}));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * prefill, interp->GetSignature("prefill"));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * decode, interp->GetSignature("decode"));
  EXPECT_EQ(decode->plan_report().in_place_states, std::vector<std::string>{"kv"});
  interp->ResetState();  // real zeros, i.e. the zero point 1 (as QUANTIZE(0.0) of a float cache)
  auto feed = [](SignatureRunner* r, const std::vector<float>& x, int32_t row) -> Status {
    LITEQ_ASSIGN_OR_RETURN(TensorView xv, r->Input("x"));
    LITEQ_ASSIGN_OR_RETURN(TensorView pv, r->Input("pos"));
    std::copy(x.begin(), x.end(), xv.as<float>().begin());
    pv.as<int32_t>()[0] = row;
    pv.as<int32_t>()[1] = 0;
    return r->Invoke();
  };
  ASSERT_OK(feed(prefill, {1, 2, 3, 4}, 0));
  ASSERT_OK(feed(decode, {-1.5f, 10}, 2));
  ASSERT_OK_AND_ASSIGN(TensorView y, decode->Output("y"));
  EXPECT_EQ(std::vector<float>(y.as<float>().begin(), y.as<float>().end()),
            (std::vector<float>{1, 2, 3, 4, -1.5f, 10, 0, 0}));
  ASSERT_OK_AND_ASSIGN(TensorView state, interp->State("kv"));
  const auto* kv = static_cast<const int8_t*>(state.data);
  EXPECT_EQ(std::vector<int8_t>(kv, kv + 8), (std::vector<int8_t>{3, 5, 7, 9, -2, 21, 1, 1}));
  EXPECT_EQ(decode->counters().dus_full_copies, 0u);
}

}  // namespace
}  // namespace liteq::runtime::testing
