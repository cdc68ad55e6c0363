// GATHER on DEQUANTIZE(int8/int4 table) run on the integer table (the embedding of
// weight-only models, runtime/weight_only_fusion.h): the rows equal GATHER on the
// table DEQUANTIZE folded to float at Create, bit for bit, and no float copy of the
// table is made when every reader of the dequantized table runs on the integers (the
// lookup and the tied lm head FULLY_CONNECTED).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "graph_builder.h"
#include "runtime/interpreter.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

struct Case {
  const char* name;
  DType dtype;
  bool per_row;
  bool tied_fc;  // the table is also the weights of a FULLY_CONNECTED
};

constexpr int kRows = 37, kCols = 24, kIds = 5;

std::shared_ptr<graph::Model> BuildModel(const Case& c, std::mt19937& rng) {
  GraphBuilder b;
  b.BeginSignature("run");
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> bytes(c.dtype == DType::kInt4 ? kRows * kCols / 2 : kRows * kCols);
  for (auto& v : bytes) v = static_cast<uint8_t>(byte(rng));
  const int table = b.Const("table", c.dtype, {kRows, kCols}, bytes);
  std::uniform_real_distribution<float> scale(0.001f, 0.1f);
  graph::QuantParams& q = b.sg().tensors[table].quant;
  q.scale.resize(c.per_row ? kRows : 1);
  for (size_t i = 0; i < q.scale.size(); ++i) q.scale[i] = scale(rng);
  q.zero_point.assign(q.scale.size(), 0);
  q.quantized_dimension = 0;
  const int deq = b.Tensor("table_f", DType::kFloat32, {kRows, kCols});
  b.Op(OpCode::kDequantize, {table}, {deq});
  const int ids = b.Input("ids", DType::kInt32, {1, kIds});
  const int rows = b.Tensor("rows", DType::kFloat32, {1, kIds, kCols});
  b.Op(OpCode::kGather, {deq, ids}, {rows}, graph::GatherOptions{});
  b.Output("rows", rows);
  if (c.tied_fc) {
    const int x = b.Input("x", DType::kFloat32, {1, kCols});
    const int logits = b.Tensor("logits", DType::kFloat32, {1, kRows});
    b.Op(OpCode::kFullyConnected, {x, deq, -1}, {logits}, graph::FullyConnectedOptions{});
    b.Output("logits", logits);
  }
  return b.model();
}

class WeightOnlyGatherTest : public ::testing::TestWithParam<Case> {};

TEST_P(WeightOnlyGatherTest, RowsEqualFoldedTable) {
  const Case c = GetParam();
  std::mt19937 rng(3);
  auto model = BuildModel(c, rng);
  std::vector<float> rows[2];
  for (int direct = 0; direct < 2; ++direct) {
    InterpreterOptions options;
    options.integer_weights = direct == 1;
    ASSERT_OK_AND_ASSIGN(auto interpreter, Interpreter::Create(model, options));
    if (direct == 1) {
      EXPECT_EQ(interpreter->folded_constant_bytes(), 0u) << "a float copy of the table exists";
    } else {
      EXPECT_EQ(interpreter->folded_constant_bytes(), size_t{kRows} * kCols * sizeof(float));
    }
    ASSERT_OK_AND_ASSIGN(SignatureRunner * runner, interpreter->GetSignature("run"));
    ASSERT_OK_AND_ASSIGN(TensorView ids, runner->Input("ids"));
    const std::vector<int32_t> looked_up = {0, kRows - 1, 17, 17, 4};
    std::memcpy(ids.data, looked_up.data(), ids.bytes);
    if (c.tied_fc) {
      ASSERT_OK_AND_ASSIGN(TensorView x, runner->Input("x"));
      for (float& v : x.as<float>()) v = 1.0f;
    }
    ASSERT_OK(runner->Invoke());
    ASSERT_OK_AND_ASSIGN(TensorView out, runner->Output("rows"));
    rows[direct].assign(out.as<float>().begin(), out.as<float>().end());
    // An id outside the table is an error, never a read out of bounds.
    const int32_t bad = direct == 0 ? -1 : kRows;
    std::memcpy(ids.data, &bad, sizeof(bad));
    EXPECT_FALSE(runner->Invoke().ok());
  }
  ASSERT_EQ(rows[0].size(), size_t{kIds} * kCols);
  EXPECT_EQ(rows[0], rows[1]);
}

INSTANTIATE_TEST_SUITE_P(Tables, WeightOnlyGatherTest,
                         ::testing::Values(Case{"int8_per_tensor", DType::kInt8, false, false},
                                           Case{"int8_per_row", DType::kInt8, true, false},
                                           Case{"int8_per_row_tied", DType::kInt8, true, true},
                                           Case{"int4_per_tensor", DType::kInt4, false, false},
                                           Case{"int4_per_row_tied", DType::kInt4, true, true}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace liteq::runtime::testing
