// The VNNI attention products (runtime/kernels/quantized/attention_vnni.h) against
// plain int64 sums: every supported head_dim, live lengths around the 16-key groups
// and 4-row quads, the int8 extremes (-128 queries/probabilities against -128 and 127
// keys/values), query rows at a stride, and dots written only where asked.
#include "runtime/kernels/quantized/attention_vnni.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace liteq::runtime::quantized {
namespace {

std::vector<int8_t> RandomBytes(size_t n, std::mt19937& rng) {
  std::vector<int8_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t r = rng();
    v[i] = r % 7 == 0 ? int8_t{-128} : (r % 7 == 1 ? int8_t{127} : static_cast<int8_t>(r >> 8));
  }
  return v;
}

TEST(AttentionVnniTest, ProductsEqualPlainSums) {
  for (size_t hd : {16, 32, 64, 128, 256}) {
    if (!AttentionVnniSupported(hd)) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  }
  EXPECT_FALSE(AttentionVnniSupported(48));
  std::mt19937 rng(21);
  for (size_t hd : {16, 32, 64, 128, 256}) {
    for (size_t n : {1, 3, 4, 5, 15, 16, 17, 31, 64, 129, 140}) {
      SCOPED_TRACE("head_dim " + std::to_string(hd) + " n " + std::to_string(n));
      const size_t ld = hd + 24;  // rows inside a wider cache row (other heads)
      const auto keys = RandomBytes(n * ld, rng), values = RandomBytes(n * ld, rng);
      const size_t m = 5, ldq = hd + 8;
      const auto q = RandomBytes(m * ldq, rng), p = RandomBytes(n, rng);
      std::vector<int32_t> key_sums(n), value_sums(hd, 0);
      for (size_t j = 0; j < n; ++j) {
        for (size_t d = 0; d < hd; ++d) {
          key_sums[j] += keys[j * ld + d];
          value_sums[d] += values[j * ld + d];
        }
      }
      std::vector<int8_t> laid_keys(VnniKeysBytes(n, hd), 55),
          laid_values(VnniValuesBytes(n, hd), 55);
      LayOutKeysVnni(keys.data(), ld, n, hd, laid_keys.data());
      LayOutValuesVnni(values.data(), ld, n, hd, laid_values.data());

      const size_t ld_dots = n + 3;
      std::vector<int32_t> dots(m * ld_dots, 777);
      QueryKeyDotsVnni(q.data(), ldq, m, laid_keys.data(), key_sums.data(), n, hd, dots.data(),
                       ld_dots);
      for (size_t r = 0; r < m; ++r) {
        for (size_t j = 0; j < ld_dots; ++j) {
          int64_t want = 777;
          if (j < n) {
            want = 0;
            for (size_t d = 0; d < hd; ++d) want += int64_t{q[r * ldq + d]} * keys[j * ld + d];
          }
          ASSERT_EQ(dots[r * ld_dots + j], want) << "row " << r << " key " << j;
        }
      }
      std::vector<int32_t> context(hd + 1, 777);
      ProbValueDotsVnni(p.data(), n, laid_values.data(), value_sums.data(), hd, context.data());
      for (size_t d = 0; d < hd; ++d) {
        int64_t want = 0;
        for (size_t j = 0; j < n; ++j) want += int64_t{p[j]} * values[j * ld + d];
        ASSERT_EQ(context[d], want) << "column " << d;
      }
      EXPECT_EQ(context[hd], 777) << "wrote past head_dim";
    }
  }
}

}  // namespace
}  // namespace liteq::runtime::quantized
