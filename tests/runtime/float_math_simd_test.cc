// The SIMD float kernels (runtime/kernels/float_math_simd.h): accuracy of the
// approximated functions against double-precision math over the whole float range,
// agreement with the scalar reference kernels (use_scalar_float_kernels), tails, and
// bit-identical results when the work is split across two threads.
#include "runtime/kernels/float_math_simd.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "graph_builder.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
// Where the scalar kernels are accurate ([-8, 8]), SIMD and scalar results agree to
// this relative error (with denominator max(|scalar|, 1): the scalar GELUs cancel to an
// absolute error of ~|x| * 6e-8 for x < 0).
constexpr double kSimdVsScalarKernelTolerance = 1e-6;

struct Approximated {
  const char* name;
  FloatUnaryOp op;
  double tolerance;
  double (*reference)(double);
};

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double GeluTanhRef(double x) {
  // 0.5x(1 + tanh(u)) = x * sigmoid(2u): the same function, without cancellation.
  const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return x * Sigmoid(2.0 * u);
}
double GeluErfRef(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }

const Approximated kApproximated[] = {
    {"exp", FloatUnaryOp::kExp, kExpSimdMaxRelError, [](double x) { return std::exp(x); }},
    {"logistic", FloatUnaryOp::kLogistic, kLogisticSimdMaxRelError, Sigmoid},
    {"tanh", FloatUnaryOp::kTanh, kTanhSimdMaxRelError, [](double x) { return std::tanh(x); }},
    {"gelu_tanh", FloatUnaryOp::kGeluTanh, kGeluTanhSimdMaxRelError, GeluTanhRef},
    {"gelu_erf", FloatUnaryOp::kGeluErf, kGeluErfSimdMaxRelError, GeluErfRef},
};

// Dense sweep of [-100, 100], random values of every binade from the denormals to
// 2^8, and the edges: signed zeros, denormals, FLT_MIN, overflow thresholds, inf.
std::vector<float> TestInputs() {
  std::vector<float> x;
  constexpr int kSweep = 1 << 20;
  for (int i = 0; i <= kSweep; ++i) x.push_back(-100.0f + 200.0f * static_cast<float>(i) / kSweep);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  for (int e = -149; e <= 8; ++e) {
    for (int k = 0; k < 2000; ++k) {
      const float v = std::ldexp(mantissa(rng), e);
      x.push_back(v);
      x.push_back(-v);
    }
  }
  for (float v : {0.0f, -0.0f, std::numeric_limits<float>::denorm_min(), FLT_MIN, 88.72f, 88.73f,
                  89.0f, 103.9f, 104.0f, 150.0f, 1e4f, 1e5f, 1e13f, 1e30f, FLT_MAX, kInf}) {
    x.push_back(v);
    x.push_back(-v);
  }
  return x;
}

// |y - ref| / max(|ref|, FLT_MIN); results that overflow must be exactly inf, and
// NaN (GELU(-inf) = -inf * 0) must be NaN.
double RelError(float y, double ref) {
  if (std::isnan(ref)) return std::isnan(y) ? 0.0 : kInf;
  const float ref_f = static_cast<float>(ref);
  if (std::isinf(ref_f)) return y == ref_f ? 0.0 : kInf;
  return std::fabs(static_cast<double>(y) - ref) / std::max(std::fabs(ref), double{FLT_MIN});
}

TEST(FloatMathSimd, ApproximationsWithinNamedTolerances) {
  const std::vector<float> x = TestInputs();
  std::vector<float> y(x.size());
  for (const Approximated& f : kApproximated) {
    SimdFloatUnary(f.op, x.data(), y.data(), x.size());
    double worst = 0.0;
    float worst_x = 0.0f;
    for (size_t i = 0; i < x.size(); ++i) {
      const double err = RelError(y[i], f.reference(x[i]));
      if (!(err <= worst)) {
        worst = err;
        worst_x = x[i];
      }
    }
    EXPECT_LE(worst, f.tolerance) << f.name << " at x = " << worst_x;
    std::printf("%-10s max relative error %.3g at x = %.9g (tolerance %.3g)\n", f.name, worst,
                worst_x, f.tolerance);
  }
}

TEST(FloatMathSimd, InfinitiesAndNaN) {
  const std::vector<float> x = {kInf, -kInf, kNaN, -kNaN};
  std::vector<float> y(x.size());
  auto run = [&](FloatUnaryOp op) {
    SimdFloatUnary(op, x.data(), y.data(), x.size());
    EXPECT_TRUE(std::isnan(y[2]) && std::isnan(y[3])) << "NaN must stay NaN";
    return y;
  };
  EXPECT_EQ(run(FloatUnaryOp::kExp)[0], kInf);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(run(FloatUnaryOp::kLogistic)[0], 1.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(run(FloatUnaryOp::kTanh)[0], 1.0f);
  EXPECT_EQ(y[1], -1.0f);
  // GELU(+inf) = inf; GELU(-inf) = -inf * 0 = NaN, as the scalar kernels compute it.
  for (FloatUnaryOp op : {FloatUnaryOp::kGeluTanh, FloatUnaryOp::kGeluErf}) {
    EXPECT_EQ(run(op)[0], kInf);
    EXPECT_TRUE(std::isnan(y[1]));
  }
  EXPECT_EQ(run(FloatUnaryOp::kRsqrt)[0], 0.0f);
  EXPECT_TRUE(std::isnan(y[1]));
}

// A tail (partial vector) goes through the same vector code: any split of an array
// gives bit-identical results, which the threaded kernels rely on.
TEST(FloatMathSimd, TailsMatchFullVectors) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-12.0f, 12.0f);
  std::vector<float> x(203);
  for (float& v : x) v = dist(rng);
  std::vector<float> whole(x.size()), pieces(x.size());
  for (const Approximated& f : kApproximated) {
    SimdFloatUnary(f.op, x.data(), whole.data(), x.size());
    for (size_t begin = 0; begin < x.size();) {
      const size_t n = std::min<size_t>(x.size() - begin, 1 + begin % 13);  // odd lengths
      SimdFloatUnary(f.op, x.data() + begin, pieces.data() + begin, n);
      begin += n;
    }
    EXPECT_EQ(0, std::memcmp(whole.data(), pieces.data(), x.size() * sizeof(float))) << f.name;
  }
}

TEST(FloatMathSimd, SumToDoubleMatchesSequentialSum) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  for (size_t n : {0, 1, 3, 7, 31, 576, 1001}) {
    std::vector<float> x(n);
    double exact = 0.0;
    for (float& v : x) {
      v = dist(rng);
      exact += v;
    }
    EXPECT_NEAR(SimdSumToDouble(x.data(), n), exact, 1e-12 * static_cast<double>(n + 1))
        << "n = " << n;
  }
}

// SimdMax against the kernels' sequential m = x[0]; m = x > m ? x : m: the same bits,
// NaN first (kept) or later (skipped), except that a zero maximum present with both
// signs may come back with either (the header's one difference).
TEST(FloatMathSimd, MaxMatchesSequentialMax) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> dist(-30.0f, 30.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  size_t checked = 0;
  for (size_t n : {1, 2, 7, 15, 16, 17, 33, 64, 72, 129, 576}) {
    for (int variant = 0; variant < 6; ++variant) {
      std::vector<float> x(n);
      for (float& v : x) v = dist(rng);
      if (variant == 1) x[n / 2] = nan;      // a NaN past the first: skipped
      if (variant == 2) x[0] = nan;          // a NaN first: the result
      if (variant == 3) x[n - 1] = 1000.0f;  // the max in the tail
      if (variant == 4) std::fill(x.begin(), x.end(), -5.0f), x[n - 1] = -1.0f;
      if (variant == 5) {  // zeros of both signs are the max
        for (float& v : x) v = -std::abs(v) - 1.0f;
        x[n / 3] = -0.0f;
        x[n - 1] = 0.0f;
      }
      float want = x[0];
      for (size_t i = 1; i < n; ++i) want = x[i] > want ? x[i] : want;
      const float got = SimdMax(x.data(), n);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << "n " << n << " variant " << variant;
      } else if (want == 0.0f) {
        EXPECT_EQ(got, 0.0f) << "n " << n;  // either sign
      } else {
        EXPECT_EQ(std::memcmp(&got, &want, sizeof(float)), 0)
            << "n " << n << " variant " << variant << ": " << got << " vs " << want;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 11u * 6);
}

std::vector<float> RandomFloats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

InterpreterOptions Threads(int n, bool reference = false) {
  InterpreterOptions o;
  o.num_threads = n;
  o.use_scalar_float_kernels = reference;
  return o;
}

struct UnaryCase {
  OpCode code;
  graph::OpOptions options;
  const char* name;
};

const UnaryCase kUnaryCases[] = {
    {OpCode::kLogistic, graph::NoOptions{}, "LOGISTIC"},
    {OpCode::kTanh, graph::NoOptions{}, "TANH"},
    {OpCode::kExp, graph::NoOptions{}, "EXP"},
    {OpCode::kGelu, graph::GeluOptions{true}, "GELU approximate"},
    {OpCode::kGelu, graph::GeluOptions{false}, "GELU"},
    {OpCode::kRsqrt, graph::NoOptions{}, "RSQRT"},
    {OpCode::kSqrt, graph::NoOptions{}, "SQRT"},
    {OpCode::kSquare, graph::NoOptions{}, "SQUARE"},
    {OpCode::kNeg, graph::NoOptions{}, "NEG"},
    {OpCode::kAbs, graph::NoOptions{}, "ABS"},
    {OpCode::kRelu, graph::NoOptions{}, "RELU"},
};

// Unary ops through the interpreter: SIMD (1 and 2 threads, 75K elements so the
// split happens) against the scalar reference kernels; the two SIMD runs are
// bit-identical.
TEST(FloatMathSimd, UnaryKernelsMatchScalarAndThreadedRuns) {
  const Shape shape = {3, 100, 251};  // 75300 elements: odd, above the threading threshold
  std::vector<float> x = RandomFloats(3 * 100 * 251, -8.0f, 8.0f, 11);
  x[0] = 0.0f;
  x[1] = -0.0f;
  x[2] = kInf;
  for (const UnaryCase& c : kUnaryCases) {
    const bool positive_only = c.code == OpCode::kRsqrt || c.code == OpCode::kSqrt;
    std::vector<float> in = x;
    if (positive_only) {
      for (float& v : in) v = std::fabs(v);
    }
    const std::vector<OutSpec> out = {{DType::kFloat32, shape}};
    ASSERT_OK_AND_ASSIGN(auto scalar,
                         RunOp(c.code, c.options, {F(shape, in)}, out, Threads(1, true)));
    ASSERT_OK_AND_ASSIGN(auto one, RunOp(c.code, c.options, {F(shape, in)}, out, Threads(1)));
    ASSERT_OK_AND_ASSIGN(auto two, RunOp(c.code, c.options, {F(shape, in)}, out, Threads(2)));
    const std::vector<float> s = scalar[0].f(), a = one[0].f(), b = two[0].f();
    ASSERT_EQ(a.size(), in.size());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << c.name;
    int bad = 0;
    for (size_t i = 0; i < a.size() && bad < 5; ++i) {
      if (std::isinf(s[i]) || std::isnan(s[i])) {
        if (!(a[i] == s[i] || (std::isnan(a[i]) && std::isnan(s[i])))) {
          ADD_FAILURE() << c.name << " x = " << in[i] << ": " << a[i] << " vs " << s[i];
          ++bad;
        }
        continue;
      }
      const double tol = kSimdVsScalarKernelTolerance * std::max(1.0, std::fabs(double{s[i]}));
      if (std::fabs(double{a[i]} - s[i]) > tol) {
        ADD_FAILURE() << c.name << " x = " << in[i] << ": simd " << a[i] << " scalar " << s[i];
        ++bad;
      }
    }
  }
}

struct BinaryCase {
  Shape a, b, out;
};

// Binary ops: the SIMD kernels are bit-identical to the scalar ones for every
// broadcasting form (vector-vector, row vector over the last axis as in RMSNorm's
// weight MUL, column as in x * rsqrt(mean), scalar on either side, middle dims),
// with and without threads and fused activations.
TEST(FloatMathSimd, BinaryKernelsBitIdenticalToScalar) {
  const BinaryCase cases[] = {
      {{3, 37}, {3, 37}, {3, 37}},
      {{2, 5, 67}, {67}, {2, 5, 67}},
      {{2, 5, 67}, {2, 5, 1}, {2, 5, 67}},
      {{67}, {2, 5, 67}, {2, 5, 67}},
      {{2, 1, 3, 5}, {1, 4, 1, 5}, {2, 4, 3, 5}},
      {{}, {9}, {9}},
      {{9}, {}, {9}},
      {{2, 1}, {1, 1}, {2, 1}},
      {{130, 577}, {577}, {130, 577}},       // threaded: 75010 elements
      {{130, 577}, {130, 1}, {130, 577}},    // threaded column broadcast
      {{130, 577}, {130, 577}, {130, 577}},  // threaded, one long row
  };
  const OpCode ops[] = {OpCode::kAdd,
                        OpCode::kSub,
                        OpCode::kMul,
                        OpCode::kDiv,
                        OpCode::kMaximum,
                        OpCode::kMinimum,
                        OpCode::kSquaredDifference};
  const graph::Activation acts[] = {graph::Activation::kNone, graph::Activation::kRelu,
                                    graph::Activation::kRelu6, graph::Activation::kReluN1To1};
  uint32_t seed = 1;
  for (const BinaryCase& c : cases) {
    auto count = [](const Shape& s) {
      size_t n = 1;
      for (int32_t d : s) n *= static_cast<size_t>(d);
      return n;
    };
    std::vector<float> a = RandomFloats(count(c.a), -4.0f, 4.0f, seed++);
    std::vector<float> b = RandomFloats(count(c.b), -4.0f, 4.0f, seed++);
    if (a.size() > 2) a[1] = kNaN;  // NaN handling of MAXIMUM/MINIMUM must match too
    for (OpCode op : ops) {
      for (graph::Activation act : acts) {
        const bool fused =
            op == OpCode::kAdd || op == OpCode::kSub || op == OpCode::kMul || op == OpCode::kDiv;
        if (!fused && act != graph::Activation::kNone) continue;
        const graph::OpOptions options = fused ? graph::OpOptions(graph::BinaryOptions{act})
                                               : graph::OpOptions(graph::NoOptions{});
        const std::vector<Value> in = {F(c.a, a), F(c.b, b)};
        const std::vector<OutSpec> out = {{DType::kFloat32, c.out}};
        ASSERT_OK_AND_ASSIGN(auto scalar, RunOp(op, options, in, out, Threads(1, true)));
        ASSERT_OK_AND_ASSIGN(auto one, RunOp(op, options, in, out, Threads(1)));
        ASSERT_OK_AND_ASSIGN(auto two, RunOp(op, options, in, out, Threads(2)));
        const std::string what = "op " + std::to_string(static_cast<int>(op)) + " act " +
                                 std::to_string(static_cast<int>(act)) + " out " +
                                 std::to_string(count(c.out));
        EXPECT_EQ(scalar[0].bytes, one[0].bytes) << what;
        EXPECT_EQ(one[0].bytes, two[0].bytes) << what;
      }
    }
  }
}

TEST(FloatMathSimd, FusedTanhActivationWithinTolerance) {
  const Shape shape = {4, 33};
  const std::vector<float> a = RandomFloats(132, -3.0f, 3.0f, 21);
  const std::vector<float> b = RandomFloats(33, -3.0f, 3.0f, 22);
  const graph::OpOptions options = graph::BinaryOptions{graph::Activation::kTanh};
  const std::vector<OutSpec> out = {{DType::kFloat32, shape}};
  ASSERT_OK_AND_ASSIGN(auto got, RunOp(OpCode::kAdd, options, {F(shape, a), F({33}, b)}, out));
  const std::vector<float> y = got[0].f();
  for (size_t i = 0; i < y.size(); ++i) {
    const double ref = std::tanh(static_cast<double>(a[i] + b[i % 33]));
    EXPECT_LE(RelError(y[i], ref), kTanhSimdMaxRelError) << i;
  }
}

// MEAN over the last axis (RMSNorm): SIMD row sums within kReduceSimdMaxUlp of the
// sequential reference, and identical with two threads.
TEST(FloatMathSimd, MeanOverLastAxis) {
  for (const Shape& shape : {Shape{3, 7}, Shape{2, 65, 577}}) {
    const int32_t rows = shape.size() == 2 ? shape[0] : shape[0] * shape[1];
    const int32_t cols = shape.back();
    const std::vector<float> x = RandomFloats(static_cast<size_t>(rows) * cols, 0.0f, 9.0f, 31);
    Shape out_shape = shape;
    out_shape.back() = 1;
    const std::vector<Value> in = {F(shape, x), CI({1}, {-1})};
    const std::vector<OutSpec> out = {{DType::kFloat32, out_shape}};
    ASSERT_OK_AND_ASSIGN(
        auto ref, RunOp(OpCode::kMean, graph::ReducerOptions{true}, in, out, Threads(1, true)));
    ASSERT_OK_AND_ASSIGN(auto one,
                         RunOp(OpCode::kMean, graph::ReducerOptions{true}, in, out, Threads(1)));
    ASSERT_OK_AND_ASSIGN(auto two,
                         RunOp(OpCode::kMean, graph::ReducerOptions{true}, in, out, Threads(2)));
    const std::vector<float> r = ref[0].f(), a = one[0].f();
    ASSERT_EQ(a.size(), static_cast<size_t>(rows));
    for (int32_t i = 0; i < rows; ++i) {
      double exact = 0.0;
      for (int32_t j = 0; j < cols; ++j) exact += x[static_cast<size_t>(i) * cols + j];
      EXPECT_NEAR(r[i], exact / cols, 1e-6 * exact / cols);  // the test sees the real mean
      const float ulp = std::nextafter(r[i], kInf) - r[i];
      EXPECT_LE(std::fabs(a[i] - r[i]), kReduceSimdMaxUlp * ulp) << "row " << i;
    }
    EXPECT_EQ(one[0].bytes, two[0].bytes);
  }
}

}  // namespace
}  // namespace liteq::runtime::testing
