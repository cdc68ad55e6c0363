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
      // Up to kBatchMatMulDirectRows rows an rhs stored [K, N] is used untransposed:
      // column blocks of 256 with a remainder, broadcast batches, and one row over it.
      {{1, 3}, {1, 3}, 4, 192, 600},
      {{2}, {1}, 1, 70, 257},
      {{1, 2}, {1}, 2, 1, 5},
      {{1}, {1}, 5, 31, 300},
      {{1, 2}, {1, 2}, 37, 19, 23},
      {{2, 1}, {1, 3}, 5, 16, 4},
      {{}, {}, 1, 1, 1},
      {{3}, {1}, 17, 33, 9},
      {{1}, {}, 4, 0, 6},
      {{2}, {2}, 66, 48, 70}};
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> zp(-128, 127);
  struct Impl {
    const char* name;
    Int8DotsFn dots;
    KnDotsFn kn_dots;
  };
  std::vector<Impl> impls = {{"portable", &Int8DotsPortable, &KnDotsPortable}};
  if (Int8DotsAvx2Supported()) impls.push_back({"avx2", &Int8DotsAvx2, &KnDotsAvx2});
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
        for (const auto& [name, fn, kn_fn] : impls) {
          SCOPED_TRACE(std::string(name) + " m " + std::to_string(c.m) + " k " +
                       std::to_string(c.k) + " n " + std::to_string(c.n) + (adj_x ? " adj_x" : "") +
                       (adj_y ? " adj_y" : ""));
          std::vector<int8_t> actual(expected.size(), 77);
          FastBatchMatMulInt8(*p, lhs.data(), rhs.data(), actual.data(), scratch.data(), fn,
                              BestBatchMatMulRequantize(), kn_fn);
          ASSERT_EQ(actual, expected);
        }
      }
    }
  }
}

// KnDots (kn_dots.h): dots of a row with the columns of a [K, N] matrix, against the
// definition summed in int64 and reduced modulo 2^32; odd depths (the AVX2 code pairs
// rows), column counts around its 16 / 64 blocks and a row stride wider than the
// columns read.
TEST(KnDotsTest, BitExactWithDefinition) {
  std::mt19937 rng(5);
  std::vector<std::pair<const char*, KnDotsFn>> impls = {{"portable", &KnDotsPortable}};
  if (Int8DotsAvx2Supported()) impls.push_back({"avx2", &KnDotsAvx2});
  for (size_t depth : {size_t{1}, size_t{2}, size_t{7}, size_t{192}, size_t{70001}}) {
    for (size_t count : {size_t{1}, size_t{15}, size_t{16}, size_t{64}, size_t{83}, size_t{200}}) {
      const size_t ldb = count + 5;
      std::vector<int8_t> a = RandomInt8(depth, rng), b = RandomInt8(depth * ldb, rng);
      if (depth == 70001) {  // all -128: the int32 sum wraps (70001 * 2^14 > 2^31)
        std::fill(a.begin(), a.end(), int8_t{-128});
        std::fill(b.begin(), b.end(), int8_t{-128});
      }
      std::vector<int32_t> expected(count);
      for (size_t i = 0; i < count; ++i) {
        int64_t sum = 0;
        for (size_t k = 0; k < depth; ++k) sum += int64_t{a[k]} * b[k * ldb + i];
        expected[i] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(sum)));
      }
      for (const auto& [name, fn] : impls) {
        SCOPED_TRACE(std::string(name) + " depth " + std::to_string(depth) + " count " +
                     std::to_string(count));
        std::vector<int32_t> actual(count, 99);
        fn(a.data(), b.data(), depth, ldb, count, actual.data());
        ASSERT_EQ(actual, expected);
      }
    }
  }
}

}  // namespace
}  // namespace liteq::runtime::quantized
