// The fast integer FULLY_CONNECTED (fully_connected_fast.h, int8_dot.h) against the
// scalar reference kernels: every output integer equal (static int8) and every
// output float bit-identical (hybrid, same final operation order), for random shapes
// whose depths, channels and batches are not multiples of the SIMD tiles, random zero
// points, per-channel and per-tensor multipliers, with and without bias, for the
// portable and (when the CPU has it) AVX2 dot cores.
#include "runtime/kernels/quantized/fully_connected_fast.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "runtime/kernels/quantized/int8_dot.h"
#include "runtime/kernels/quantized/requantize_rows.h"

namespace liteq::runtime::quantized {
namespace {

struct Impl {
  const char* name;
  Int8DotsFn fn;
};

std::vector<Impl> Implementations() {
  std::vector<Impl> impls = {{"portable", &Int8DotsPortable}};
  if (Int8DotsAvx2Supported()) impls.push_back({"avx2", &Int8DotsAvx2});
  return impls;
}

struct PackedImpl {
  const char* name;
  PackedInt8DotsFn fn;
};

std::vector<PackedImpl> PackedImplementations() {
  std::vector<PackedImpl> impls = {{"portable", &PackedInt8DotsPortable}};
  if (Int8DotsAvx2Supported()) impls.push_back({"avx2", &PackedInt8DotsAvx2});
  if (Int8DotsAvx512VnniSupported()) impls.push_back({"avx512vnni", &PackedInt8DotsAvx512Vnni});
  return impls;
}

std::vector<int8_t> RandomInt8(size_t n, std::mt19937& rng, int lo = -128, int hi = 127) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(dist(rng));
  return v;
}

struct Shape3 {
  int64_t batches, depth, channels;
};

const Shape3 kShapes[] = {{1, 1, 1},  {1, 16, 4},  {2, 17, 5},   {3, 31, 7},    {1, 192, 33},
                          {5, 15, 4}, {7, 64, 19}, {70, 33, 17}, {65, 200, 36}, {1, 301, 3},
                          {4, 0, 5},  {2, 48, 1},  {129, 8, 9}};

TEST(Int8DotsTest, MatchesNaiveSumsIncludingExtremes) {
  std::mt19937 rng(1);
  for (const Impl& impl : Implementations()) {
    for (const Shape3& s : kShapes) {
      SCOPED_TRACE(std::string(impl.name) + " " + std::to_string(s.batches) + "x" +
                   std::to_string(s.depth) + "x" + std::to_string(s.channels));
      auto x = RandomInt8(static_cast<size_t>(s.batches * s.depth), rng);
      auto w = RandomInt8(static_cast<size_t>(s.channels * s.depth), rng);
      // Extremes: -128 * -128 pairs are where int8 x int8 tricks saturate.
      if (!x.empty()) x[0] = -128;
      if (!w.empty()) w[0] = -128;
      if (s.depth > 1) x[1] = w[1] = -128;
      std::vector<int32_t> dots(static_cast<size_t>(s.batches * s.channels), 12345);
      Int8DotArgs args{x.data(),
                       static_cast<size_t>(s.depth),
                       w.data(),
                       static_cast<size_t>(s.depth),
                       static_cast<size_t>(s.depth),
                       dots.data(),
                       static_cast<size_t>(s.channels)};
      impl.fn(args, 0, static_cast<size_t>(s.batches), 0, static_cast<size_t>(s.channels));
      for (int64_t b = 0; b < s.batches; ++b) {
        for (int64_t c = 0; c < s.channels; ++c) {
          int64_t expected = 0;
          for (int64_t d = 0; d < s.depth; ++d) {
            expected += int64_t{x[b * s.depth + d]} * w[c * s.depth + d];
          }
          ASSERT_EQ(dots[b * s.channels + c], expected) << "b " << b << " c " << c;
        }
      }
    }
  }
}

// x * multiplier / 2^(31 - shift), rounded half towards +infinity, saturated: the
// definition of ApplyMultiplier (quantized_common.h), computed in 128 bits.
int32_t OracleMultiply(int64_t x, quant::QuantizedMultiplier m) {
  const int total_shift = 31 - m.shift;
  const __int128 r =
      (static_cast<__int128>(x) * m.multiplier + (static_cast<__int128>(1) << (total_shift - 1))) >>
      total_shift;
  if (r < std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::min();
  if (r > std::numeric_limits<int32_t>::max()) return std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(r);
}

TEST(FastMultiplierTest, EqualsApplyMultiplierForInt32Accumulators) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int32_t> any(std::numeric_limits<int32_t>::min(),
                                             std::numeric_limits<int32_t>::max());
  std::uniform_int_distribution<int> small(-70000, 70000);
  std::uniform_real_distribution<double> log_real(-40.0, 20.0);
  for (int i = 0; i < 2000; ++i) {
    const quant::QuantizedMultiplier m = quant::QuantizeMultiplier(std::exp2(log_real(rng)));
    if (m.shift < -31 || m.shift > 30) continue;
    const FastMultiplier f = MakeFastMultiplier(m);
    for (int32_t x : {any(rng), small(rng), std::numeric_limits<int32_t>::min(),
                      std::numeric_limits<int32_t>::max(), 0, -1, 1}) {
      const int32_t expected = OracleMultiply(x, m);
      ASSERT_EQ(ApplyFastMultiplier(x, f), expected)
          << "x " << x << " multiplier " << m.multiplier << " shift " << m.shift;
      ASSERT_EQ(ApplyMultiplier(int64_t{x}, m), expected) << "x " << x;
    }
    // int64 accumulators (16x8) beyond int32 take ApplyMultiplier's 128-bit branch.
    for (int64_t x : {int64_t{1} << 40, -(int64_t{1} << 45) - 3, int64_t{3} << 33}) {
      ASSERT_EQ(ApplyMultiplier(x, m), OracleMultiply(x, m)) << "x " << x;
    }
  }
}

void CheckStaticInt8(const Shape3& s, bool per_channel, bool bias, FusedActivation act,
                     std::mt19937& rng) {
  std::uniform_int_distribution<int> zp(-128, 127);
  std::uniform_real_distribution<float> scale(0.002f, 0.05f);
  const quant::QuantParams in_q{scale(rng), zp(rng)};
  const quant::QuantParams out_q{scale(rng) * 4, zp(rng)};
  std::vector<float> w_scales(per_channel ? static_cast<size_t>(s.channels) : 1);
  for (float& v : w_scales) v = scale(rng) * 0.1f;
  auto params = PrepareFullyConnectedInt8(in_q, w_scales, out_q, act);
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  const FullyConnectedShape shape{s.batches, s.depth, s.channels};
  const auto x = RandomInt8(static_cast<size_t>(s.batches * s.depth), rng);
  const auto w = RandomInt8(static_cast<size_t>(s.channels * s.depth), rng, -127, 127);
  std::vector<int32_t> b;
  if (bias) {
    std::uniform_int_distribution<int32_t> bd(-20000, 20000);
    b.resize(static_cast<size_t>(s.channels));
    for (int32_t& v : b) v = bd(rng);
  }
  std::vector<int8_t> expected(static_cast<size_t>(s.batches * s.channels));
  FullyConnectedInt8(*params, shape, x, w, b, expected);
  for (const PackedImpl& impl : PackedImplementations()) {
    SCOPED_TRACE(impl.name);
    const auto packed =
        PackedInt8Weights::Pack(w, static_cast<size_t>(s.channels), static_cast<size_t>(s.depth),
                                false, PackedInt8LayoutFor(impl.fn));
    const FastFullyConnectedInt8Params fast =
        PrepareFastFullyConnectedInt8(*params, shape, *packed, b);
    std::vector<int8_t> actual(expected.size(), 99);
    // Two channel ranges, as the runtime splits them over threads (the split need
    // not fall on a packed block boundary).
    const int64_t split = s.channels / 2;
    FastFullyConnectedInt8Rows(fast, shape, x.data(), *packed, actual.data(), 0, split, impl.fn);
    FastFullyConnectedInt8Rows(fast, shape, x.data(), *packed, actual.data(), split, s.channels,
                               impl.fn);
    ASSERT_EQ(actual, expected);
  }
}

TEST(FastFullyConnectedInt8Test, BitExactWithReference) {
  std::mt19937 rng(3);
  int case_index = 0;
  for (const Shape3& s : kShapes) {
    for (bool per_channel : {true, false}) {
      for (bool bias : {true, false}) {
        const FusedActivation act =
            case_index++ % 3 == 0 ? FusedActivation::kRelu : FusedActivation::kNone;
        SCOPED_TRACE(std::to_string(s.batches) + "x" + std::to_string(s.depth) + "x" +
                     std::to_string(s.channels) + (per_channel ? " per-channel" : " per-tensor") +
                     (bias ? " bias" : ""));
        CheckStaticInt8(s, per_channel, bias, act, rng);
      }
    }
  }
}

TEST(FastFullyConnectedInt8Test, WrapsLikeTheReferenceOnHugeBias) {
  // Accumulators beyond int32: the reference wraps modulo 2^32; so must the folded form.
  std::mt19937 rng(4);
  const FullyConnectedShape shape{2, 40, 5};
  auto params = PrepareFullyConnectedInt8({0.01f, -128}, std::vector<float>{0.001f}, {0.02f, 3},
                                          FusedActivation::kNone);
  ASSERT_TRUE(params.ok());
  const auto x = RandomInt8(80, rng);
  const auto w = RandomInt8(200, rng);
  const std::vector<int32_t> bias = {2147483000, -2147483000, 2147483647, -2147483647 - 1, 7};
  std::vector<int8_t> expected(10), actual(10);
  FullyConnectedInt8(*params, shape, x, w, bias, expected);
  const auto packed = PackedInt8Weights::Pack(w, 5, 40);
  const auto fast = PrepareFastFullyConnectedInt8(*params, shape, *packed, bias);
  FastFullyConnectedInt8Rows(fast, shape, x.data(), *packed, actual.data(), 0, 5,
                             PackedInt8DotsFor(packed->layout()));
  EXPECT_EQ(actual, expected);
}

void CheckHybrid(const Shape3& s, bool per_channel, bool asymmetric, bool with_bias,
                 FusedActivation activation, std::mt19937& rng) {
  std::uniform_real_distribution<float> scale(0.001f, 0.02f);
  std::vector<float> w_scales(per_channel ? static_cast<size_t>(s.channels) : 1);
  for (float& v : w_scales) v = scale(rng);
  auto params = PrepareHybridFullyConnected(w_scales, asymmetric, activation);
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  const FullyConnectedShape shape{s.batches, s.depth, s.channels};
  std::uniform_real_distribution<float> value(-3.0f, 5.0f);
  std::vector<float> x(static_cast<size_t>(s.batches * s.depth));
  for (float& v : x) v = value(rng);
  if (s.batches > 1 && s.depth > 0) {  // an all-zero row (scale 1, zero point 0)
    std::fill(x.begin() + s.depth, x.begin() + 2 * s.depth, 0.0f);
  }
  const auto w = RandomInt8(static_cast<size_t>(s.channels * s.depth), rng, -127, 127);
  std::vector<float> bias;
  if (with_bias) {
    bias.resize(static_cast<size_t>(s.channels));
    for (float& v : bias) v = value(rng);
  }
  std::vector<float> expected(static_cast<size_t>(s.batches * s.channels));
  std::vector<int8_t> scratch(static_cast<size_t>(s.depth));
  HybridFullyConnected(*params, shape, x, w, bias, expected, scratch);
  std::vector<int8_t> quantized(x.size());
  std::vector<quant::QuantParams> rows(static_cast<size_t>(s.batches));
  QuantizeHybridRows(*params, shape, x.data(), quantized.data(), rows.data());
  for (const PackedImpl& impl : PackedImplementations()) {
    SCOPED_TRACE(impl.name);
    const auto packed =
        PackedInt8Weights::Pack(w, static_cast<size_t>(s.channels), static_cast<size_t>(s.depth),
                                false, PackedInt8LayoutFor(impl.fn));
    const std::vector<int32_t> row_sums = packed->RowSums();
    std::vector<float> actual(expected.size(), -1.0f);
    const int64_t split = (s.channels + 1) / 2;
    for (auto [begin, end] : {std::pair<int64_t, int64_t>{0, split}, {split, s.channels}}) {
      FastHybridFullyConnectedRows(*params, shape, row_sums, quantized.data(), rows.data(), *packed,
                                   with_bias ? bias.data() : nullptr, actual.data(), begin, end,
                                   impl.fn);
    }
    // Same integers and the same float operations in the same order: identical bits.
    ASSERT_EQ(std::memcmp(actual.data(), expected.data(), actual.size() * sizeof(float)), 0);
  }
}

TEST(FastHybridFullyConnectedTest, BitIdenticalToReference) {
  std::mt19937 rng(5);
  for (const Shape3& s : kShapes) {
    for (bool asymmetric : {true, false}) {
      for (bool per_channel : {true, false}) {
        SCOPED_TRACE(std::to_string(s.batches) + "x" + std::to_string(s.depth) + "x" +
                     std::to_string(s.channels) + (asymmetric ? " asymmetric" : " symmetric") +
                     (per_channel ? " per-channel" : " per-tensor"));
        // Each activation clamp (RELU6 clamps both ends of the outputs' range).
        const FusedActivation activation = asymmetric    ? FusedActivation::kNone
                                           : per_channel ? FusedActivation::kRelu6
                                                         : FusedActivation::kRelu;
        CheckHybrid(s, per_channel, asymmetric, per_channel != asymmetric, activation, rng);
      }
    }
  }
}

// The hybrid epilogue's AVX-512 block equals the portable one bit for bit: channel
// counts around the 16 lanes, 1 to 9 rows, strides wider than the block, zero points
// whose products with the row sums wrap, per-channel and per-tensor scales, with and
// without bias, and clamps that bite at both ends.
TEST(FastHybridFullyConnectedTest, Avx512BlockEqualsPortable) {
  if (!RequantizeAvx512Supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(21);
  std::uniform_int_distribution<int32_t> any_int(std::numeric_limits<int32_t>::min(),
                                                 std::numeric_limits<int32_t>::max());
  std::uniform_int_distribution<int32_t> zero_point(-128, 127);
  std::uniform_real_distribution<float> scale(1e-4f, 0.05f), value(-50.0f, 50.0f);
  size_t cases = 0;
  for (size_t count : {1, 15, 16, 17, 31, 32, 33}) {
    for (size_t rows : {1, 2, 9}) {
      for (bool per_channel : {true, false}) {
        for (bool with_bias : {true, false}) {
          const size_t ld_raw = count + 3, ld_out = count + 5;
          std::vector<int32_t> raw(rows * ld_raw), row_sums(count);
          for (int32_t& v : raw) v = any_int(rng) / (rows == 2 ? 1 : 4096);
          for (int32_t& v : row_sums) v = any_int(rng) / 65536;
          std::vector<quant::QuantParams> row_params(rows);
          for (auto& p : row_params) p = {scale(rng), zero_point(rng)};
          std::vector<float> weight_scales(per_channel ? count : 1), bias(count);
          for (float& v : weight_scales) v = scale(rng);
          for (float& v : bias) v = value(rng);
          std::vector<float> want(rows * ld_out, -7.0f), got(rows * ld_out, -7.0f);
          HybridBlockArgs a{raw.data(),
                            ld_raw,
                            rows,
                            count,
                            row_params.data(),
                            row_sums.data(),
                            weight_scales.data(),
                            per_channel,
                            with_bias ? bias.data() : nullptr,
                            -2000.0f,
                            1500.0f,
                            want.data(),
                            ld_out};
          HybridBlockPortable(a);
          a.out = got.data();
          HybridBlockAvx512(a);
          ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
              << count << " channels, " << rows << " rows";
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 7u * 3 * 2 * 2);
}

}  // namespace
}  // namespace liteq::runtime::quantized
