// FULLY_CONNECTED and BATCH_MATMUL: hand-computed semantics through the interpreter,
// the SIMD kernels against the scalar reference, and the decode-GEMV speed bar.
#include "runtime/kernels/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

#include "graph_builder.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

TEST(FullyConnected, BiasActivationAndKeepNumDims) {
  // in [2,1,3], w [2,3], b [2]
  auto in = F({2, 1, 3}, {1, 2, 3, -1, -2, -3});
  auto w = CF({2, 3}, {1, 0, 1, 0, 1, 0});
  auto b = CF({2}, {0.5f, -10});
  ASSERT_OK_AND_ASSIGN(auto flat, RunOp(OpCode::kFullyConnected, graph::FullyConnectedOptions{},
                                        {in, w, b}, {{DType::kFloat32, {2, 2}}}));
  EXPECT_EQ(flat[0].f(), (std::vector<float>{4.5f, -8, -3.5f, -12}));
  graph::FullyConnectedOptions keep{graph::Activation::kRelu, true};
  ASSERT_OK_AND_ASSIGN(
      auto kept, RunOp(OpCode::kFullyConnected, keep, {in, w, b}, {{DType::kFloat32, {2, 1, 2}}}));
  EXPECT_EQ(kept[0].f(), (std::vector<float>{4.5f, 0, 0, 0}));
  ASSERT_OK_AND_ASSIGN(auto nobias, RunOp(OpCode::kFullyConnected, graph::FullyConnectedOptions{},
                                          {in, w, Absent()}, {{DType::kFloat32, {2, 2}}}));
  EXPECT_EQ(nobias[0].f(), (std::vector<float>{4, 2, -4, -2}));
  auto bad = RunOp(OpCode::kFullyConnected, graph::FullyConnectedOptions{},
                   {in, CF({2, 2}, {1, 2, 3, 4}), b}, {{DType::kFloat32, {2, 2}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("does not end in the weights' input size 2"),
            std::string::npos)
      << bad.status().ToString();
}

TEST(BatchMatMul, AdjFlagsAndBroadcastBatch) {
  // lhs [2,2,3] (two batches), rhs [3,2] broadcast over the batch.
  std::vector<float> lhs = {1, 2, 3, 4, 5, 6, -1, 0, 1, 0, 1, 0};
  std::vector<float> rhs = {1, 2, 3, 4, 5, 6};
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp(OpCode::kBatchMatmul, graph::BatchMatMulOptions{},
                             {F({2, 2, 3}, lhs), F({3, 2}, rhs)}, {{DType::kFloat32, {2, 2, 2}}}));
  EXPECT_EQ(out[0].f(), (std::vector<float>{22, 28, 49, 64, 4, 4, 3, 4}));
  // adj_y: rhs given as [2,3] (its transpose) gives the same product.
  std::vector<float> rhs_t = {1, 3, 5, 2, 4, 6};
  ASSERT_OK_AND_ASSIGN(
      auto adj_y, RunOp(OpCode::kBatchMatmul, graph::BatchMatMulOptions{false, true},
                        {F({2, 2, 3}, lhs), F({2, 3}, rhs_t)}, {{DType::kFloat32, {2, 2, 2}}}));
  EXPECT_EQ(adj_y[0].f(), out[0].f());
  // adj_x: lhs given as [2,3,2] per-batch transposes.
  std::vector<float> lhs_t = {1, 4, 2, 5, 3, 6, -1, 0, 0, 1, 1, 0};
  ASSERT_OK_AND_ASSIGN(
      auto adj_x, RunOp(OpCode::kBatchMatmul, graph::BatchMatMulOptions{true, false},
                        {F({2, 3, 2}, lhs_t), F({1, 3, 2}, rhs)}, {{DType::kFloat32, {2, 2, 2}}}));
  EXPECT_EQ(adj_x[0].f(), out[0].f());
  // Batch broadcasting in both directions: [2,1,1,2] x [1,3,2,1] -> [2,3,1,1]
  ASSERT_OK_AND_ASSIGN(auto bc,
                       RunOp(OpCode::kBatchMatmul, graph::BatchMatMulOptions{},
                             {F({2, 1, 1, 2}, {1, 1, 1, -1}), F({1, 3, 2, 1}, {1, 2, 3, 4, 5, 6})},
                             {{DType::kFloat32, {2, 3, 1, 1}}}));
  EXPECT_EQ(bc[0].f(), (std::vector<float>{3, 7, 11, -1, -1, -1}));
  auto bad = RunOp(OpCode::kBatchMatmul, graph::BatchMatMulOptions{},
                   {F({2, 3}, lhs), F({2, 2}, {1, 2, 3, 4})}, {{DType::kFloat32, {2, 2}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("contraction sizes differ"), std::string::npos);
}

std::vector<float> RandomVector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// |fast - ref| <= tol * sum_k |a*b|: the bound on reassociation error.
void ExpectMatMulClose(const std::vector<float>& fast, const std::vector<float>& ref,
                       const std::vector<float>& scale) {
  ASSERT_EQ(fast.size(), ref.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    ASSERT_LE(std::fabs(fast[i] - ref[i]), kMatMulRelativeTolerance * scale[i] + 1e-30f)
        << "element " << i;
  }
}

TEST(MatMulFast, MatchesReferenceOverOddShapes) {
  std::mt19937 rng(42);
  const size_t shapes[][3] = {{1, 1, 1},    {1, 7, 33},    {3, 5, 17},  {4, 2, 8}, {5, 9, 64},
                              {9, 13, 100}, {1, 130, 257}, {17, 31, 3}, {8, 16, 0}};
  for (const auto& s : shapes) {
    const size_t m = s[0], n = s[1], k = s[2];
    SCOPED_TRACE("m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
    const auto a = RandomVector(m * k, rng);
    const auto b_nt = RandomVector(n * k, rng);
    const auto bias = RandomVector(n, rng);
    std::vector<float> ref(m * n), fast(m * n, -99.0f), scale(m * n, 0.0f);
    MatMulArgs p{a.data(), k, b_nt.data(), k, bias.data(), ref.data(), n, m, n, k};
    ReferenceMatMulNT(p);
    p.c = fast.data();
    FastMatMulNT(p, 0, n);
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < n; ++j) {
        scale[i * n + j] = std::fabs(bias[j]);
        for (size_t kk = 0; kk < k; ++kk)
          scale[i * n + j] += std::fabs(a[i * k + kk] * b_nt[j * k + kk]);
      }
    ExpectMatMulClose(fast, ref, scale);
    // A column range computes only its columns.
    std::vector<float> part(m * n, -99.0f);
    p.c = part.data();
    if (n >= 3) {
      FastMatMulNT(p, 1, n - 1);
      for (size_t i = 0; i < m; ++i) {
        EXPECT_EQ(part[i * n], -99.0f);
        EXPECT_EQ(part[i * n + n - 1], -99.0f);
        for (size_t j = 1; j + 1 < n; ++j) ASSERT_NEAR(part[i * n + j], fast[i * n + j], 1e-6f);
      }
    }
    // NN form: b is [k, n].
    const auto b_nn = RandomVector(k * n, rng);
    MatMulArgs q{a.data(), k, b_nn.data(), n, nullptr, ref.data(), n, m, n, k};
    ReferenceMatMulNN(q);
    q.c = fast.data();
    FastMatMulNN(q);
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < n; ++j) {
        scale[i * n + j] = 0.0f;
        for (size_t kk = 0; kk < k; ++kk)
          scale[i * n + j] += std::fabs(a[i * k + kk] * b_nn[kk * n + j]);
      }
    ExpectMatMulClose(fast, ref, scale);
  }
}

TEST(MatMulFast, FullyConnectedWithThreadsMatchesSingleThread) {
  std::mt19937 rng(7);
  const int batch = 4, in = 256, out = 301;  // enough work for 3 tasks
  auto x = F({batch, in}, RandomVector(batch * in, rng));
  auto w = CF({out, in}, RandomVector(out * in, rng));
  auto b = CF({out}, RandomVector(out, rng));
  ASSERT_OK_AND_ASSIGN(auto one, RunOp(OpCode::kFullyConnected, graph::FullyConnectedOptions{},
                                       {x, w, b}, {{DType::kFloat32, {batch, out}}}));
  InterpreterOptions threaded;
  threaded.num_threads = 3;
  ASSERT_OK_AND_ASSIGN(auto three, RunOp(OpCode::kFullyConnected, graph::FullyConnectedOptions{},
                                         {x, w, b}, {{DType::kFloat32, {batch, out}}}, threaded));
  EXPECT_EQ(one[0].f(), three[0].f());  // same tiles, same summation order
}

// The bar: one decode step's GEMV over ~40 MB of fp32 weights within 3x the time it
// takes to stream the weights from memory once. Best-of-N timings reduce noise from
// other processes on the machine.
TEST(MatMulFast, DecodeGemvIsNearMemoryBandwidth) {
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
  GTEST_SKIP() << "timing is meaningless in sanitizer or unoptimised builds";
#endif
  const size_t in = 2048, out = 5120;  // 40 MiB of weights
  std::mt19937 rng(1);
  const auto w = RandomVector(in * out, rng);
  const auto x = RandomVector(in, rng);
  std::vector<float> y(out);
  using Clock = std::chrono::steady_clock;
  auto best_of = [](int reps, auto&& fn) {
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = Clock::now();
      fn();
      best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
    }
    return best;
  };
  // Reading the weights once: an XOR over 64-bit words, which the compiler vectorises
  // (unlike a float sum), so it runs at memory speed.
  volatile uint64_t sink = 0;
  const double read_once = best_of(7, [&] {
    const auto* words = reinterpret_cast<const unsigned char*>(w.data());
    const size_t count = w.size() * sizeof(float) / sizeof(uint64_t);
    uint64_t acc[8] = {};
    for (size_t i = 0; i + 8 <= count; i += 8) {
      uint64_t block[8];
      std::memcpy(block, words + i * sizeof(uint64_t), sizeof(block));
      for (int j = 0; j < 8; ++j) acc[j] ^= block[j];
    }
    sink = acc[0] ^ acc[1] ^ acc[2] ^ acc[3] ^ acc[4] ^ acc[5] ^ acc[6] ^ acc[7];
  });
  MatMulArgs p{x.data(), in, w.data(), in, nullptr, y.data(), out, 1, out, in};
  const double gemv = best_of(7, [&] { FastMatMulNT(p, 0, out); });
  std::printf(
      "decode GEMV over %.1f MiB: %.2f ms; reading the weights once: %.2f ms (ratio %.2f)\n",
      w.size() * 4.0 / (1 << 20), gemv * 1e3, read_once * 1e3, gemv / read_once);
  EXPECT_LE(gemv, 3.0 * read_once);
  (void)sink;
}

}  // namespace
}  // namespace liteq::runtime::testing
