// The fast float -> int8 QUANTIZE (quantize_fast.h) against quant::QuantizeToInt8:
// every output equal, including exact ties (k + 0.5) * scale, values next to ties,
// NaN, +-inf, huge values, -0, denormals, and every zero-point extreme; lengths that
// are not multiples of the 32-value SIMD block.
#include "runtime/kernels/quantized/quantize_fast.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace liteq::runtime::quantized {
namespace {

std::vector<float> TrickyValues(float scale, std::mt19937& rng) {
  std::vector<float> v = {0.0f,
                          -0.0f,
                          std::numeric_limits<float>::quiet_NaN(),
                          -std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::lowest(),
                          std::numeric_limits<float>::denorm_min(),
                          -std::numeric_limits<float>::denorm_min(),
                          3e9f,
                          -3e9f};
  for (int k = -140; k <= 140; ++k) {
    const float tie = (static_cast<float>(k) + 0.5f) * scale;
    v.push_back(tie);
    v.push_back(std::nextafter(tie, 1e30f));
    v.push_back(std::nextafter(tie, -1e30f));
    v.push_back(static_cast<float>(k) * scale);
  }
  std::uniform_real_distribution<float> wide(-300.0f * scale, 300.0f * scale);
  for (int i = 0; i < 3000; ++i) v.push_back(wide(rng));
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

TEST(FastQuantizeTest, EqualsScalarQuantize) {
  std::mt19937 rng(21);
  for (float scale : {1.0f, 0.5f, 0.0371f, 3.3e-3f, 17.0f}) {
    for (int32_t zp : {-128, -5, 0, 9, 127}) {
      const quant::QuantParams params{scale, zp};
      const std::vector<float> values = TrickyValues(scale, rng);
      for (size_t length : {values.size(), size_t{31}, size_t{33}, size_t{64}, size_t{0}}) {
        std::span<const float> in(values.data(), length);
        std::vector<int8_t> expected(length), actual(length, 55);
        quant::QuantizeToInt8(in, params, expected);
        FastQuantizeFloatToInt8(in, params, actual);
        for (size_t i = 0; i < length; ++i) {
          ASSERT_EQ(actual[i], expected[i])
              << "x " << values[i] << " scale " << scale << " zp " << zp << " index " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace liteq::runtime::quantized
