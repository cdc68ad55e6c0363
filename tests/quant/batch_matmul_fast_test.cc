// The fast int8 BATCH_MATMUL (batch_matmul_fast.h) against the scalar reference
// (BatchMatMulInt8): every output integer equal, for all adj_x / adj_y forms,
// broadcast batch dimensions, sizes that are not multiples of the SIMD tiles and
// random zero points (including -128 and 127), on the portable and AVX2 dot cores.
#include "runtime/kernels/quantized/batch_matmul_fast.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace liteq::runtime::quantized {
namespace {

std::vector<int8_t> RandomInt8(size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(-128, 127);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(dist(rng));
  return v;
}

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

struct Case {
  std::vector<int64_t> lhs_batch, rhs_batch;
  int64_t m, k, n;
};

TEST(FastBatchMatMulInt8Test, BitExactWithReference) {
  const Case cases[] = {
      {{1, 1}, {1, 1}, 3, 64, 1024},  // decode QK^T shape (GQA group 3)
      {{1, 1}, {1, 1}, 3, 100, 64},   // decode ·V
      {{1, 2}, {1, 2}, 37, 19, 23},  {{2, 1}, {1, 3}, 5, 16, 4}, {{}, {}, 1, 1, 1},
      {{3}, {1}, 17, 33, 9},         {{1}, {}, 4, 0, 6},         {{2}, {2}, 66, 48, 70}};
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> zp(-128, 127);
  std::vector<std::pair<const char*, Int8DotsFn>> impls = {{"portable", &Int8DotsPortable}};
  if (Int8DotsAvx2Supported()) impls.push_back({"avx2", &Int8DotsAvx2});
  int index = 0;
  for (const Case& c : cases) {
    for (bool adj_x : {false, true}) {
      for (bool adj_y : {false, true}) {
        std::vector<int64_t> ls = c.lhs_batch, rs = c.rhs_batch;
        ls.push_back(adj_x ? c.k : c.m);
        ls.push_back(adj_x ? c.m : c.k);
        rs.push_back(adj_y ? c.n : c.k);
        rs.push_back(adj_y ? c.k : c.n);
        // Edge zero points on some cases: offsets of +128 / -127.
        const int32_t lzp = index % 4 == 0 ? -128 : zp(rng);
        const int32_t rzp = index % 4 == 1 ? 127 : zp(rng);
        ++index;
        auto p = PrepareBatchMatMulInt8({0.03f, lzp}, ls, {0.02f, rzp}, rs, {0.05f, zp(rng)}, adj_x,
                                        adj_y);
        ASSERT_TRUE(p.ok()) << p.status().ToString();
        const auto lhs = RandomInt8(static_cast<size_t>(Elements(ls)), rng);
        const auto rhs = RandomInt8(static_cast<size_t>(Elements(rs)), rng);
        std::vector<int8_t> expected(static_cast<size_t>(Elements(p->output_shape)));
        BatchMatMulInt8(*p, lhs, rhs, expected);
        std::vector<uint8_t> scratch(FastBatchMatMulInt8ScratchBytes(*p) + 4);
        for (const auto& [name, fn] : impls) {
          SCOPED_TRACE(std::string(name) + " m " + std::to_string(c.m) + " k " +
                       std::to_string(c.k) + " n " + std::to_string(c.n) + (adj_x ? " adj_x" : "") +
                       (adj_y ? " adj_y" : ""));
          std::vector<int8_t> actual(expected.size(), 77);
          FastBatchMatMulInt8(*p, lhs.data(), rhs.data(), actual.data(), scratch.data(), fn);
          ASSERT_EQ(actual, expected);
        }
      }
    }
  }
}

}  // namespace
}  // namespace liteq::runtime::quantized
