#include "runtime/kernels/quantized/lut_int.h"

#include <gtest/gtest.h>

#include <cmath>
#include <span>
#include <vector>

namespace liteq::runtime::quantized {
namespace {

struct Case {
  LutFunction function;
  quant::QuantParams input;
  quant::QuantParams output;
};

TEST(LutInt8Test, EveryInputWithinOneStepOfTheFloatFunction) {
  const std::vector<Case> cases = {
      {LutFunction::kLogistic, {0.05f, 3}, {1.0f / 256, -128}},
      {LutFunction::kTanh, {0.03f, -7}, {1.0f / 128, 0}},
      {LutFunction::kGelu, {0.04f, -20}, {0.02f, -110}},
      {LutFunction::kGeluApproximate, {0.04f, -20}, {0.02f, -110}},
      {LutFunction::kRsqrt, {0.01f, -128}, {0.1f, -128}},
  };
  std::vector<int8_t> all(256), out(256);
  for (int i = 0; i < 256; ++i) all[static_cast<size_t>(i)] = static_cast<int8_t>(i - 128);
  for (const Case& c : cases) {
    auto lut = PrepareInt8Lut(c.function, c.input, c.output);
    ASSERT_TRUE(lut.ok()) << lut.status().ToString();
    ApplyInt8Lut(*lut, all, out);
    for (int i = 0; i < 256; ++i) {
      const double x = c.input.scale * (all[static_cast<size_t>(i)] - c.input.zero_point);
      double f = 0.0;
      switch (c.function) {
        case LutFunction::kLogistic:
          f = 1.0 / (1.0 + std::exp(-x));
          break;
        case LutFunction::kTanh:
          f = std::tanh(x);
          break;
        case LutFunction::kGelu:
          f = 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
          break;
        case LutFunction::kGeluApproximate:
          f = 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
          break;
        case LutFunction::kRsqrt:
          f = x > 0 ? 1.0 / std::sqrt(x) : 1e9;
          break;
      }
      const double expected = std::clamp(f / c.output.scale + c.output.zero_point, -128.0, 127.0);
      EXPECT_NEAR(out[static_cast<size_t>(i)], expected, 1.0)
          << static_cast<int>(c.function) << " q=" << i - 128;
    }
  }
}

TEST(LutInt8Test, HandComputedAndChecks) {
  auto lut = PrepareInt8Lut(LutFunction::kLogistic, {0.1f, 0}, {1.0f / 256, -128});
  ASSERT_TRUE(lut.ok());
  EXPECT_EQ((*lut)[0], 0);  // q=0: sigmoid(0) = 0.5 -> 128 - 128
  EXPECT_FALSE(PrepareInt8Lut(LutFunction::kLogistic, {0.1f, 0}, {1.0f / 128, 0}).ok());
  EXPECT_FALSE(PrepareInt8Lut(LutFunction::kGelu, {0.0f, 0}, {1.0f, 0}).ok());
}

}  // namespace
}  // namespace liteq::runtime::quantized

namespace liteq::runtime::quantized {
namespace {

// The VBMI lookup equals the portable loop byte for byte: a table with every entry
// distinct from its neighbours, every input value, lengths around the 64-byte vector
// (masked tails), and the bytes past the output left alone.
TEST(LutInt8Test, Avx512VbmiEqualsPortable) {
  if (!LutAvx512VbmiSupported()) GTEST_SKIP() << "no AVX-512 VBMI on this CPU";
  Int8Lut lut;
  for (size_t i = 0; i < lut.size(); ++i) lut[i] = static_cast<int8_t>((i * 37 + 11) % 256);
  for (size_t n : {0, 1, 63, 64, 65, 127, 128, 129, 256, 1000}) {
    std::vector<int8_t> input(n);
    for (size_t i = 0; i < n; ++i) input[i] = static_cast<int8_t>((i * 101 + 7) % 256);
    std::vector<int8_t> want(n + 3, 55), got(n + 3, 55);
    ApplyInt8LutPortable(lut, input, std::span(want).first(n));
    ApplyInt8LutAvx512Vbmi(lut, input.data(), got.data(), n);
    EXPECT_EQ(got, want) << "n " << n;
  }
}

}  // namespace
}  // namespace liteq::runtime::quantized
