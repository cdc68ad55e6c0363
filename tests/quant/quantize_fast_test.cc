// The fast float -> int8 QUANTIZE (quantize_fast.h) against quant::QuantizeToInt8:
// every output equal, including exact ties (k + 0.5) * scale, values next to ties,
// NaN, +-inf, huge values, -0, denormals, and every zero-point extreme; lengths that
// are not multiples of the 32-value SIMD block. The hybrid row quantizer against
// QuantizeHybridRow: same scale bits, zero point and every int8.
#include "runtime/kernels/quantized/quantize_fast.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "runtime/kernels/quantized/hybrid_fully_connected.h"

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

// Rows for the hybrid row quantizer: random rows of several lengths (SIMD tails),
// rows whose range makes the inverse 1 so that x.5 values are exact ties, rows with
// NaN or +-inf, all-zero and all -0 rows, single-sign rows (the asymmetric range
// widened to 0), and rows with a single nonzero value.
std::vector<std::vector<float>> HybridRows(std::mt19937& rng) {
  std::vector<std::vector<float>> rows;
  std::uniform_real_distribution<float> value(-3.0f, 5.0f);
  for (size_t n : {1, 7, 8, 9, 31, 64, 576, 1537}) {
    std::vector<float> r(n);
    for (float& v : r) v = value(rng);
    rows.push_back(r);
    for (float& v : r) v = std::abs(v) + 0.25f;  // all positive
    rows.push_back(r);
    for (float& v : r) v = -v;  // all negative
    rows.push_back(r);
  }
  std::vector<float> ties = {127.0f, -127.0f, 0.5f, -0.5f, 1.5f, -2.5f, 126.5f, -126.5f, 3.0f};
  for (int k = -60; k <= 60; ++k) ties.push_back(static_cast<float>(k) + 0.5f);
  rows.push_back(ties);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (float special : {nan, inf, -inf}) {
    std::vector<float> r(37);
    for (float& v : r) v = value(rng);
    r[3] = special;
    r[20] = special;
    rows.push_back(r);
  }
  rows.push_back(std::vector<float>(40, 0.0f));
  rows.push_back(std::vector<float>(40, -0.0f));
  std::vector<float> single(19, 0.0f);
  single[11] = -0.75f;
  rows.push_back(single);
  return rows;
}

// Every instruction set the CPU has (AVX-512 and AVX2 on the x86 CI machines), and the
// choice FastQuantizeHybridRow makes.
TEST(FastQuantizeHybridRowTest, EqualsQuantizeHybridRow) {
  std::vector<std::pair<std::string, std::function<quant::QuantParams(std::span<const float>, bool,
                                                                      std::span<int8_t>)>>>
      impls = {{"best", &FastQuantizeHybridRow}};
  for (auto [name, isa] :
       {std::pair{"portable", QuantizeIsa::kPortable}, std::pair{"avx2", QuantizeIsa::kAvx2},
        std::pair{"avx512", QuantizeIsa::kAvx512}}) {
    if (!QuantizeIsaSupported(isa)) continue;
    impls.emplace_back(name,
                       [isa](std::span<const float> row, bool asymmetric, std::span<int8_t> out) {
                         return FastQuantizeHybridRowOn(isa, row, asymmetric, out);
                       });
  }
  std::mt19937 rng(22);
  for (const std::vector<float>& row : HybridRows(rng)) {
    for (bool asymmetric : {false, true}) {
      for (const auto& [name, quantize] : impls) {
        SCOPED_TRACE(name + " " + std::to_string(row.size()) +
                     (asymmetric ? " asymmetric" : " symmetric"));
        std::vector<int8_t> expected(row.size(), 3), actual(row.size(), 4);
        const quant::QuantParams e = QuantizeHybridRow(row, asymmetric, expected);
        const quant::QuantParams a = quantize(row, asymmetric, actual);
        ASSERT_EQ(std::memcmp(&a.scale, &e.scale, sizeof(float)), 0) << a.scale << " " << e.scale;
        ASSERT_EQ(a.zero_point, e.zero_point);
        for (size_t i = 0; i < row.size(); ++i) {
          ASSERT_EQ(actual[i], expected[i]) << "x " << row[i] << " index " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace liteq::runtime::quantized
