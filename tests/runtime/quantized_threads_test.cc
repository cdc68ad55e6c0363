// Integer ops large enough that the fast kernels split them over the thread pool
// (QUANTIZE, int8 ADD / MUL with and without broadcast, LOGISTIC, SOFTMAX, TRANSPOSE
// from 32K elements or bytes, 8K for SOFTMAX) and BATCH_MATMUL shapes of a decode step: the
// fast kernels on 2 threads give the same integers as the scalar reference kernels on
// one.
#include <gtest/gtest.h>

#include "quantized_test_util.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

void ExpectFastOnTwoThreadsEqualsReference(OpCode code, graph::OpOptions options,
                                           const std::vector<Value>& inputs,
                                           const std::vector<OutSpec>& outputs) {
  InterpreterOptions reference;
  reference.use_reference_kernels = true;
  ASSERT_OK_AND_ASSIGN(auto want, RunOp(code, options, inputs, outputs, reference));
  InterpreterOptions fast;
  fast.num_threads = 2;
  ASSERT_OK_AND_ASSIGN(auto got, RunOp(code, options, inputs, outputs, fast));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].bytes, want[i].bytes) << "output " << i;
}

TEST(QuantizedThreads, QuantizeFloatCacheSized) {
  const int n = 192 * 3 * 64 + 17;
  ExpectFastOnTwoThreadsEqualsReference(OpCode::kQuantize, graph::NoOptions{},
                                        {F({n}, RandomFloats(n, -3.0f, 3.0f, 1))},
                                        {QOut(DType::kInt8, {n}, {0.0173879f, -4})});
}

TEST(QuantizedThreads, AddAndMulInt8SameShapeAndBroadcast) {
  const quant::QuantParams qa{0.02f, 3}, qb{0.015f, -7}, qo{0.03f, 1};
  // Same shapes: one long row split inside it.
  const int t = 128, d = 577;
  const auto a = RandomInts<int8_t>(t * d, -128, 127, 2);
  const auto b = RandomInts<int8_t>(t * d, -128, 127, 3);
  const auto w = RandomInts<int8_t>(d, -128, 127, 4);
  const auto s = RandomInts<int8_t>(t, -128, 127, 5);
  for (OpCode code : {OpCode::kAdd, OpCode::kMul}) {
    SCOPED_TRACE(graph::OpCodeName(code));
    ExpectFastOnTwoThreadsEqualsReference(code, graph::BinaryOptions{},
                                          {Q({1, t, d}, a, qa), Q({1, t, d}, b, qb)},
                                          {QOut(DType::kInt8, {1, t, d}, qo)});
    // x [T, D] op w [D]: a row per position, split between rows.
    ExpectFastOnTwoThreadsEqualsReference(code, graph::BinaryOptions{},
                                          {Q({1, t, d}, a, qa), Q({d}, w, qb)},
                                          {QOut(DType::kInt8, {1, t, d}, qo)});
    // x [T, D] op s [T, 1]: rows against one repeated element.
    ExpectFastOnTwoThreadsEqualsReference(code, graph::BinaryOptions{},
                                          {Q({1, t, d}, a, qa), Q({1, t, 1}, s, qb)},
                                          {QOut(DType::kInt8, {1, t, d}, qo)});
  }
}

TEST(QuantizedThreads, SoftmaxInt8AttentionRows) {
  const int rows = 3 * 3 * 128 + 5, depth = 192;
  ExpectFastOnTwoThreadsEqualsReference(
      OpCode::kSoftmax, graph::SoftmaxOptions{},
      {Q({rows, depth}, RandomInts<int8_t>(rows * depth, -128, 127, 6), {0.0092f, -2})},
      {QOut(DType::kInt8, {rows, depth}, {1.0f / 256, -128})});
}

// A prefill's SiLU gate [T, 1536] through the int8 LOGISTIC table, split over the pool.
TEST(QuantizedThreads, LogisticInt8PrefillGate) {
  const int n = 128 * 1536 + 13;
  ExpectFastOnTwoThreadsEqualsReference(
      OpCode::kLogistic, graph::NoOptions{},
      {Q({n}, RandomInts<int8_t>(n, -128, 127, 11), {0.061f, 9})},
      {QOut(DType::kInt8, {n}, {1.0f / 256, -128})});
}

TEST(QuantizedThreads, TransposeInt8Cache) {
  const int s = 192, kv = 3, hd = 64;
  Value cache = Q({1, s, kv, hd}, RandomInts<int8_t>(s * kv * hd, -128, 127, 7), {0.017f, 1});
  ExpectFastOnTwoThreadsEqualsReference(OpCode::kTranspose, graph::NoOptions{},
                                        {cache, CI({4}, {0, 2, 1, 3})},
                                        {QOut(DType::kInt8, {1, kv, s, hd}, {0.017f, 1})});
}

// A decode step's attention products: QK^T (adj_y) and probabilities x V with the V
// cache stored [S, hd] (not transposed: kn_dots.h), GQA groups of 3.
TEST(QuantizedThreads, BatchMatMulInt8DecodeAttention) {
  const int kv = 3, g = 3, s = 192, hd = 64;
  const auto q = RandomInts<int8_t>(kv * g * hd, -128, 127, 8);
  const auto k = RandomInts<int8_t>(kv * s * hd, -128, 127, 9);
  const auto p = RandomInts<int8_t>(kv * g * s, -128, 127, 10);
  graph::BatchMatMulOptions adj_y;
  adj_y.adj_y = true;
  ExpectFastOnTwoThreadsEqualsReference(
      OpCode::kBatchMatmul, adj_y,
      {Q({1, kv, g, hd}, q, {0.0022f, -3}), Q({1, kv, s, hd}, k, {0.017f, -4})},
      {QOut(DType::kInt8, {1, kv, g, s}, {0.0097f, 0})});
  ExpectFastOnTwoThreadsEqualsReference(
      OpCode::kBatchMatmul, graph::BatchMatMulOptions{},
      {Q({1, kv, g, s}, p, {1.0f / 256, -128}), Q({1, kv, s, hd}, k, {0.017f, 1})},
      {QOut(DType::kInt8, {1, kv, g, hd}, {0.014f, 1})});
}

}  // namespace
}  // namespace liteq::runtime::testing
