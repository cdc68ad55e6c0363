// eval::CompareWeights on hand-made constants with hand-computed errors.
#include "eval/weight_error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace liteq::eval {
namespace {

using graph::DType;

uint32_t AddConstant(graph::Model& m, graph::Subgraph& sg, graph::Tensor t,
                     std::vector<uint8_t> bytes) {
  if (m.buffers.empty()) m.buffers.emplace_back();  // buffer 0: the empty sentinel
  t.buffer = static_cast<uint32_t>(m.buffers.size());
  m.buffers.push_back(graph::Buffer::FromVector(std::move(bytes)));
  sg.tensors.push_back(std::move(t));
  return sg.tensors.back().buffer;
}

std::vector<uint8_t> Floats(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

graph::Model OneSubgraph() {
  graph::Model m;
  m.subgraphs.emplace_back();
  m.subgraphs[0].name = "decode";
  return m;
}

TEST(WeightErrorTest, PerChannelInt8AgainstItsFloatConstant) {
  graph::Model ref = OneSubgraph(), q = OneSubgraph();
  AddConstant(ref, ref.subgraphs[0], {"w", DType::kFloat32, {2, 2}}, Floats({1.0f, -0.6f, 0.3f, 0.0f}));
  graph::Tensor qt{"w.int8", DType::kInt8, {2, 2}};
  qt.quant.scale = {0.5f, 0.25f};
  qt.quant.zero_point = {0, 0};
  // Row 0: 2 * 0.5 = 1.0 (exact), -1 * 0.5 = -0.5 (error 0.1); row 1: 1 * 0.25 = 0.25
  // (error -0.05), 0 (exact).
  AddConstant(q, q.subgraphs[0], qt, {2, static_cast<uint8_t>(-1), 1, 0});
  auto errors = CompareWeights(q, ref);
  ASSERT_TRUE(errors.ok()) << errors.status().ToString();
  ASSERT_EQ(errors->size(), 1u);
  const WeightError& e = (*errors)[0];
  EXPECT_EQ(e.name, "w.int8");
  EXPECT_EQ(e.reference, "w");
  EXPECT_EQ(e.dtype, "int8");
  EXPECT_EQ(e.granularity, "channel");
  EXPECT_EQ(e.values, 4);
  const double e2 = 0.1 * 0.1 + 0.05 * 0.05;
  EXPECT_NEAR(e.rmse, std::sqrt(e2 / 4), 1e-7);
  EXPECT_NEAR(e.max_abs_error, 0.1, 1e-7);
  const double s2 = 1.0 + 0.36 + 0.09;
  EXPECT_NEAR(e.snr_db, 10 * std::log10(s2 / e2), 1e-5);
  // Channel SNRs 10 log10(1.36 / 0.01) and 10 log10(0.09 / 0.0025); median of two = the
  // upper one (index size / 2).
  EXPECT_NEAR(e.channel_snr_db, 10 * std::log10(1.36 / 0.01), 1e-4);
}

TEST(WeightErrorTest, Int4NibblesBlocksAndUnmatchedConstants) {
  graph::Model ref = OneSubgraph(), q = OneSubgraph();
  // A [1, 4] float weight stored as int4 blocks of 2: a [2, 2] reshape with per-row scales.
  AddConstant(ref, ref.subgraphs[0], {"m", DType::kFloat32, {1, 4}}, Floats({0.5f, -1.0f, 0.7f, 0.0f}));
  graph::Tensor qt{"m.int4", DType::kInt4, {2, 2}};
  qt.quant.scale = {0.5f, 0.1f};
  qt.quant.zero_point = {0, 0};
  // Values 1, -2 | 7, 0: low nibble first.
  AddConstant(q, q.subgraphs[0], qt, {static_cast<uint8_t>(0x1 | (0xE << 4)), 0x07});
  // No float counterpart, and a counterpart of another size: both left out.
  graph::Tensor orphan{"orphan.int8", DType::kInt8, {1}};
  orphan.quant.scale = {1.0f};
  orphan.quant.zero_point = {0};
  AddConstant(q, q.subgraphs[0], orphan, {1});
  AddConstant(ref, ref.subgraphs[0], {"short", DType::kFloat32, {3}}, Floats({1, 2, 3}));
  graph::Tensor mismatched{"short.int8", DType::kInt8, {2}};
  mismatched.quant.scale = {1.0f};
  mismatched.quant.zero_point = {0};
  AddConstant(q, q.subgraphs[0], mismatched, {1, 2});
  auto errors = CompareWeights(q, ref);
  ASSERT_TRUE(errors.ok()) << errors.status().ToString();
  ASSERT_EQ(errors->size(), 1u);
  const WeightError& e = (*errors)[0];
  EXPECT_EQ(e.granularity, "block 2");
  EXPECT_EQ(e.dtype, "int4");
  // 0.5 exact, -1.0 exact, 0.7 exact (7 * 0.1 in float), 0 exact.
  EXPECT_NEAR(e.max_abs_error, 0.0, 1e-6);
  EXPECT_GT(e.snr_db, 100);
}

TEST(WeightErrorTest, WorstFirstAndJsonNullForExact) {
  graph::Model ref = OneSubgraph(), q = OneSubgraph();
  for (const char* name : {"exact", "rough"}) {
    AddConstant(ref, ref.subgraphs[0], {name, DType::kFloat32, {2}}, Floats({1.0f, 0.5f}));
    graph::Tensor t{std::string(name) + ".int8", DType::kInt8, {2}};
    t.quant.scale = {std::string(name) == "exact" ? 0.5f : 0.4f};
    t.quant.zero_point = {0};
    AddConstant(q, q.subgraphs[0], t, {2, 1});
  }
  auto errors = CompareWeights(q, ref);
  ASSERT_TRUE(errors.ok());
  ASSERT_EQ(errors->size(), 2u);
  EXPECT_EQ((*errors)[0].name, "rough.int8");
  EXPECT_TRUE(std::isinf((*errors)[1].snr_db));
  const nlohmann::json j = WeightErrorsToJson(*errors, 0);
  EXPECT_TRUE(j[1]["snr_db"].is_null());
  EXPECT_EQ(WeightErrorsToJson(*errors, 1).size(), 1u);
  EXPECT_NE(FormatWeightErrors(*errors, 0).find("rough.int8"), std::string::npos);
}

}  // namespace
}  // namespace liteq::eval
