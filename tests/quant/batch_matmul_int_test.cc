#include "runtime/kernels/quantized/batch_matmul_int.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace liteq::runtime::quantized {
namespace {

TEST(BatchMatMulInt8Test, HandComputed) {
  // lhs [1, 2, 2] (zp 1), rhs [2, 2] (zp 0, no batch: broadcasts), output scale so
  // the multiplier is 0.5.
  const std::vector<int64_t> ls = {1, 2, 2}, rs = {2, 2};
  auto p = PrepareBatchMatMulInt8({0.5f, 1}, ls, {1.0f, 0}, rs, {1.0f, 0}, false, false);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->output_shape, (std::vector<int64_t>{1, 2, 2}));
  const std::vector<int8_t> a = {2, 3, 0, 1};  // minus zp: {{1, 2}, {-1, 0}}
  const std::vector<int8_t> b = {1, 2, 3, 4};
  std::vector<int8_t> y(4);
  BatchMatMulInt8(*p, a, b, y);
  // {{7, 10}, {-1, -2}} * 0.5 = {{3.5, 5}, {-0.5, -1}}. The multiplier 0.5 has shift
  // 0, so only the doubling high multiply rounds, and it rounds ties up: 3.5 -> 4,
  // -0.5 -> 0.
  EXPECT_EQ(y, (std::vector<int8_t>{4, 5, 0, -1}));
  // adj_y: rhs given transposed gives the same result.
  auto pt = PrepareBatchMatMulInt8({0.5f, 1}, ls, {1.0f, 0}, rs, {1.0f, 0}, false, true);
  ASSERT_TRUE(pt.ok());
  const std::vector<int8_t> bt = {1, 3, 2, 4};
  BatchMatMulInt8(*pt, a, bt, y);
  EXPECT_EQ(y, (std::vector<int8_t>{4, 5, 0, -1}));
  const std::vector<int64_t> wrong = {3, 2};
  EXPECT_FALSE(
      PrepareBatchMatMulInt8({0.5f, 1}, ls, {1.0f, 0}, wrong, {1.0f, 0}, false, false).ok());
}

TEST(BatchMatMulInt8Test, BroadcastBatchesMatchFloatWithinOneStep) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> q(-128, 127);
  const std::vector<int64_t> ls = {2, 1, 3, 5}, rs = {1, 4, 5, 2};
  const quant::QuantParams lq{0.05f, 3}, rq{0.04f, -2}, oq{0.3f, 1};
  auto p = PrepareBatchMatMulInt8(lq, ls, rq, rs, oq, false, false);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->output_shape, (std::vector<int64_t>{2, 4, 3, 2}));
  std::vector<int8_t> a(30), b(40), y(48);
  for (auto& v : a) v = static_cast<int8_t>(q(rng));
  for (auto& v : b) v = static_cast<int8_t>(q(rng));
  BatchMatMulInt8(*p, a, b, y);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 4; ++j) {
      for (int m = 0; m < 3; ++m) {
        for (int n = 0; n < 2; ++n) {
          double acc = 0;
          for (int k = 0; k < 5; ++k) {
            acc += lq.scale * (a[i * 15 + m * 5 + k] - lq.zero_point) * rq.scale *
                   (b[j * 10 + k * 2 + n] - rq.zero_point);
          }
          const double expected = std::clamp(acc / oq.scale + oq.zero_point, -128.0, 127.0);
          EXPECT_NEAR(y[((i * 4 + j) * 3 + m) * 2 + n], expected, 1.0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace liteq::runtime::quantized
