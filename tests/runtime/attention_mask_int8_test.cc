// The int8 attention mask ADD through a table (quantized/attention_mask_int8.h) equals
// AddSubElement for every score where the mask holds the visible value or a hiding
// one, and leaves rows with any other mask value to the ADD rows.
#include "runtime/kernels/quantized/attention_mask_int8.h"

#include <gtest/gtest.h>

#include <vector>

namespace liteq::runtime::quantized {
namespace {

TEST(AttentionMaskInt8, TableEqualsAddForVisibleAndHiddenKeys) {
  // scores (scale 0.11, zp 3) + mask (scale 0.4, zp -5: the visible value; -128 is
  // -49 real) -> masked (scale 0.12, zp 7).
  const auto add = PrepareAddSub(IntType::kInt8, {0.11f, 3}, {0.4f, -5}, {0.12f, 7},
                                 FusedActivation::kNone, /*subtract=*/false);
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  int hidden_max = -129;
  for (int v = -128; v <= 127 && AddSubElement(*add, 127, v) == -128; ++v) hidden_max = v;
  ASSERT_GE(hidden_max, -128);
  const MaskAddTable table = MakeMaskAddTable(*add, -5, hidden_max);
  // 256 scores x (visible, hidden) in a 600-byte row: tails of every vector width.
  const size_t n = 600;
  std::vector<int8_t> row(n), mask(n), want(n);
  for (size_t j = 0; j < n; ++j) {
    row[j] = static_cast<int8_t>(static_cast<uint8_t>(j * 7));
    mask[j] = j % 3 == 1 ? static_cast<int8_t>(-128) : static_cast<int8_t>(-5);
    want[j] = static_cast<int8_t>(AddSubElement(*add, row[j], mask[j]));
  }
  ASSERT_TRUE(ApplyMaskAddTable(table, mask.data(), row.data(), n));
  EXPECT_EQ(row, want);
  // A mask value that neither is the visible one nor hides: the row is not touched.
  std::vector<int8_t> before = row;
  mask[n - 1] = 9;
  EXPECT_FALSE(ApplyMaskAddTable(table, mask.data(), row.data(), n));
  EXPECT_EQ(row, before);
}

}  // namespace
}  // namespace liteq::runtime::quantized
