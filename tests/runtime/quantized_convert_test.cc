// QUANTIZE and DEQUANTIZE through the interpreter: hand-computed values (rounding
// half away from zero, saturation of huge and infinite inputs), and the requantizing
// paths against the scalar reference kernels (runtime/kernels/quantized).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "quant/quant_params.h"
#include "quantized_test_util.h"
#include "runtime/kernels/quantized/quantize_int.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;
using quantized::IntType;

TEST(QuantizeOp, FloatToInt8RoundsHalfAwayAndSaturates) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {0.0f,    0.25f,    -0.25f,  0.75f, 100.0f,
                                -100.0f, -3.4e38f, 3.4e38f, inf,   -inf};
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kQuantize, graph::NoOptions{}, {F({10}, x)},
                                       {QOut(DType::kInt8, {10}, {0.5f, -3})}));
  // x / 0.5 rounded half away from zero, plus -3, clamped to [-128, 127].
  EXPECT_EQ(out[0].as<int8_t>(),
            (std::vector<int8_t>{-3, -2, -4, -1, 127, -128, -128, 127, 127, -128}));
}

TEST(QuantizeOp, FloatToInt16) {
  // Exactly representable ratios, so the halves are real halves.
  const std::vector<float> x = {1.0f, -0.375f, 0.625f, 1e4f, -1e4f};
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kQuantize, graph::NoOptions{}, {F({5}, x)},
                                       {QOut(DType::kInt16, {5}, {0.25f, 0})}));
  EXPECT_EQ(out[0].as<int16_t>(), (std::vector<int16_t>{4, -2, 3, 32767, -32768}));
}

TEST(QuantizeOp, NanDoesNotCrash) {
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kQuantize, graph::NoOptions{},
                                       {F({1}, {std::numeric_limits<float>::quiet_NaN()})},
                                       {QOut(DType::kInt8, {1}, {0.5f, 7})}));
  EXPECT_EQ(out[0].as<int8_t>(), (std::vector<int8_t>{7}));
}

TEST(QuantizeOp, RequantizeInt8HandComputed) {
  // real = 0.5 * (q - 10); q' = real / 0.25 - 5.
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kQuantize, graph::NoOptions{},
                                       {Q<int8_t>({4}, {20, 11, 127, -128}, {0.5f, 10})},
                                       {QOut(DType::kInt8, {4}, {0.25f, -5})}));
  EXPECT_EQ(out[0].as<int8_t>(), (std::vector<int8_t>{15, -3, 127, -128}));
}

template <typename Src, typename Dst>
void CheckRequantize(quant::QuantParams in_q, quant::QuantParams out_q, uint32_t seed) {
  const int lo = std::numeric_limits<Src>::min(), hi = std::numeric_limits<Src>::max();
  const std::vector<Src> x = RandomInts<Src>(300, lo, hi, seed);
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp(OpCode::kQuantize, graph::NoOptions{}, {Q<Src>({3, 100}, x, in_q)},
                             {QOut(DTypeOf<Dst>(), {3, 100}, out_q)}));
  const IntType src_t = sizeof(Src) == 1 ? IntType::kInt8 : IntType::kInt16;
  const IntType dst_t = sizeof(Dst) == 1 ? IntType::kInt8 : IntType::kInt16;
  ASSERT_OK_AND_ASSIGN(auto p, quantized::PrepareRequantize(src_t, in_q, dst_t, out_q));
  std::vector<Dst> expected(x.size());
  quantized::Requantize(p, std::span<const Src>(x), std::span<Dst>(expected));
  EXPECT_EQ(out[0].template as<Dst>(), expected);
}

TEST(QuantizeOp, RequantizeMatchesReference) {
  CheckRequantize<int8_t, int8_t>({0.037f, -7}, {0.021f, 12}, 1);
  CheckRequantize<int8_t, int16_t>({0.037f, -7}, {0.0004f, 0}, 2);
  CheckRequantize<int16_t, int8_t>({0.0004f, 0}, {0.05f, 3}, 3);
  CheckRequantize<int16_t, int16_t>({0.0004f, 0}, {0.0011f, 0}, 4);
}

TEST(QuantizeOp, RejectsBadParams) {
  auto no_params =
      RunOp(OpCode::kQuantize, graph::NoOptions{}, {F({1}, {1.0f})}, {{DType::kInt8, {1}}});
  ASSERT_FALSE(no_params.ok());
  EXPECT_NE(no_params.status().message().find("'out0' has no quantization parameters"),
            std::string::npos)
      << no_params.status().ToString();
  auto int16_zp = RunOp(OpCode::kQuantize, graph::NoOptions{}, {F({1}, {1.0f})},
                        {QOut(DType::kInt16, {1}, {0.1f, 3})});
  ASSERT_FALSE(int16_zp.ok());
  EXPECT_NE(int16_zp.status().message().find("zero point 3"), std::string::npos);
}

TEST(DequantizeOp, NonConstantInt8AndInt16) {
  ASSERT_OK_AND_ASSIGN(
      auto a, RunOp(OpCode::kDequantize, graph::NoOptions{},
                    {Q<int8_t>({4}, {-128, 0, 5, 127}, {0.5f, 5})}, {{DType::kFloat32, {4}}}));
  EXPECT_EQ(a[0].f(), (std::vector<float>{-66.5f, -2.5f, 0.0f, 61.0f}));
  ASSERT_OK_AND_ASSIGN(
      auto b, RunOp(OpCode::kDequantize, graph::NoOptions{},
                    {Q<int16_t>({3}, {-32768, 1, 32767}, {0.25f, 0})}, {{DType::kFloat32, {3}}}));
  EXPECT_EQ(b[0].f(), (std::vector<float>{-8192.0f, 0.25f, 8191.75f}));
}

// The AVX2 per-tensor int8 path against the scalar loop (use_reference_kernels): the
// same float bits for every int8 value, sizes around the 8-lane steps, scales whose
// products round differently in float and double, and zero points up to +-255.
TEST(DequantizeOp, Int8FastPathMatchesScalarBitForBit) {
  const std::vector<std::pair<float, int32_t>> params = {
      {0.5f, 5}, {0.0123457f, -128}, {3.3e-5f, 255}, {7.77e3f, -255}, {1.1920929e-7f, 0}};
  uint32_t seed = 1;
  for (const auto& [scale, zp] : params) {
    for (int32_t n : {1, 7, 8, 9, 15, 16, 17, 256, 301}) {
      std::vector<int8_t> x = RandomInts<int8_t>(static_cast<size_t>(n), -128, 127, seed++);
      if (n >= 2) x[0] = -128, x[1] = 127;
      const Value in = Q<int8_t>({n}, x, {scale, zp});
      InterpreterOptions reference;
      reference.use_reference_kernels = true;
      ASSERT_OK_AND_ASSIGN(auto slow, RunOp(OpCode::kDequantize, graph::NoOptions{}, {in},
                                            {{DType::kFloat32, {n}}}, reference));
      ASSERT_OK_AND_ASSIGN(auto fast, RunOp(OpCode::kDequantize, graph::NoOptions{}, {in},
                                            {{DType::kFloat32, {n}}}));
      ASSERT_EQ(slow[0].bytes, fast[0].bytes) << "scale " << scale << " zp " << zp << " n " << n;
      // And the formula itself: float(double(scale) * (q - zp)).
      const std::vector<float> got = fast[0].f();
      for (int32_t i = 0; i < n; ++i) {
        const auto want = static_cast<float>(static_cast<double>(scale) *
                                             static_cast<double>(int64_t{x[i]} - zp));
        ASSERT_EQ(got[i], want) << i;
      }
    }
  }
}

TEST(DequantizeOp, Int4PerTensorNonConstant) {
  // Values {1, -2, 7, -8, 3}: low nibble first, the last high nibble unused.
  const std::vector<int8_t> values = {1, -2, 7, -8, 3};
  const std::vector<uint8_t> packed = quant::PackInt4(values);
  ASSERT_EQ(packed, (std::vector<uint8_t>{0xE1, 0x87, 0x03}));
  Value in = MakeValue(DType::kInt4, {5}, packed, false);
  in.quant = PerTensor(0.5f, 1);
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kDequantize, graph::NoOptions{}, {in}, {{DType::kFloat32, {5}}}));
  EXPECT_EQ(out[0].f(), (std::vector<float>{0.0f, -1.5f, 3.0f, -4.5f, 1.0f}));
}

TEST(DequantizeOp, Int4PerAxisConstantIsFolded) {
  // [3, 2] along dim 0 with scales {1, 0.5, 0.25}.
  const std::vector<int8_t> values = {1, -1, 7, -8, 2, -7};
  Value in = MakeValue(DType::kInt4, {3, 2}, quant::PackInt4(values), true);
  in.quant.scale = {1.0f, 0.5f, 0.25f};
  in.quant.zero_point = {0, 0, 0};
  in.quant.quantized_dimension = 0;
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kDequantize, graph::NoOptions{}, {in}, {{DType::kFloat32, {3, 2}}}));
  EXPECT_EQ(out[0].f(), (std::vector<float>{1.0f, -1.0f, 3.5f, -4.0f, 0.5f, -1.75f}));
}

}  // namespace
}  // namespace liteq::runtime::testing
