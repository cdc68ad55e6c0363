#include "runtime/kernels/quantized/gather_int.h"

#include <gtest/gtest.h>

#include <vector>

namespace liteq::runtime::quantized {
namespace {

TEST(GatherInt8Test, CopiesRowsAndChecksIndices) {
  const std::vector<int8_t> table = {1, 2, 3, 4, 5, 6};  // 3 rows of 2
  const std::vector<int32_t> idx = {2, 0, 2};
  std::vector<int8_t> out(6);
  ASSERT_TRUE(GatherInt8Rows(table, 3, 2, idx, out).ok());
  EXPECT_EQ(out, (std::vector<int8_t>{5, 6, 1, 2, 5, 6}));
  const std::vector<int32_t> bad = {3};
  std::vector<int8_t> out1(2);
  const Status s = GatherInt8Rows(table, 3, 2, bad, out1);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  const std::vector<int32_t> negative = {-1};
  EXPECT_FALSE(GatherInt8Rows(table, 3, 2, negative, out1).ok());
}

TEST(EmbeddingLookupHybridTest, Int8PerTensorAndPerRow) {
  const std::vector<int8_t> table = {1, -2, 3, 4};  // 2 rows of 2
  const std::vector<int32_t> idx = {1, 0};
  std::vector<float> out(4);
  const std::vector<float> one = {0.5f};
  ASSERT_TRUE(EmbeddingLookupHybridInt8(table, 2, 2, one, idx, out).ok());
  EXPECT_EQ(out, (std::vector<float>{1.5f, 2.0f, 0.5f, -1.0f}));
  const std::vector<float> rows = {0.5f, 0.25f};
  ASSERT_TRUE(EmbeddingLookupHybridInt8(table, 2, 2, rows, idx, out).ok());
  EXPECT_EQ(out, (std::vector<float>{0.75f, 1.0f, 0.5f, -1.0f}));
  const std::vector<float> three = {1, 2, 3};
  EXPECT_FALSE(EmbeddingLookupHybridInt8(table, 2, 2, three, idx, out).ok());
}

TEST(EmbeddingLookupHybridTest, Int4) {
  // Rows {1, -2} and {7, -8}, low nibble first.
  const std::vector<uint8_t> packed = {0xE1, 0x87};
  const std::vector<int32_t> idx = {1};
  std::vector<float> out(2);
  const std::vector<float> scale = {2.0f};
  ASSERT_TRUE(EmbeddingLookupHybridInt4(packed, 2, 2, scale, idx, out).ok());
  EXPECT_EQ(out, (std::vector<float>{14.0f, -16.0f}));
  EXPECT_FALSE(EmbeddingLookupHybridInt4(packed, 3, 2, scale, idx, out).ok());
}

}  // namespace
}  // namespace liteq::runtime::quantized
