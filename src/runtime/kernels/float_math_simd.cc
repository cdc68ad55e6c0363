// Highway implementations of float_math_simd.h. This file is compiled once per target
// instruction set (foreach_target.h re-includes it); HWY_DYNAMIC_DISPATCH picks the
// best one the CPU supports at run time, as in matmul_fast.cc.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "runtime/kernels/float_math_simd.cc"
// clang-format off: foreach_target.h must come before the Highway headers it re-includes.
#include <algorithm>
#include <cstring>

#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "liteq/status.h"
#include "runtime/kernels/float_math_simd.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace liteq::runtime {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;

// A partial vector at the end goes through this buffer so it sees the same vector
// code as every other element (results must not depend on chunk boundaries).
constexpr size_t kBufferFloats = HWY_MAX_BYTES / sizeof(float);

// exp(x) for any x: Highway's Exp is valid on [-FLT_MAX, 104]; above 88.73 the
// result overflows to inf anyway, and clamping at 89 keeps its integer exponent from
// wrapping for larger inputs. NaN is passed through explicitly (Exp maps it to 0).
HWY_INLINE V ExpAnyInput(D d, V x) {
  const V y = hn::Exp(d, hn::Min(x, hn::Set(d, 89.0f)));
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}

// sigmoid(x) with e = exp(-|x|) in (0, 1], so nothing overflows and the negative side
// keeps its relative accuracy down to the denormals: 1/(1+e) for x >= 0, e/(1+e)
// below. e is kept as h^2, h = exp(-|x|/2) (halving is exact), so that a caller can
// multiply h into its other factors last and round into the denormal range once
// (e itself is denormal below x = -87.3; rounding it first and then multiplying by,
// say, GELU's x = -10 would cost 1e-6 relative to FLT_MIN). `lo` is a small
// correction to x (x is really x + lo), used by GELU.
struct SigmoidParts {
  hn::Mask<D> negative;
  V h;  // exp(-|x + lo| / 2)
  V r;  // 1 / (1 + h^2)
};
HWY_INLINE SigmoidParts Sigmoid(D d, V x, V lo) {
  const V one = hn::Set(d, 1.0f);
  const V half = hn::Set(d, 0.5f);
  const hn::Mask<D> negative = hn::Lt(x, hn::Zero(d));
  // exp(-|x + lo| / 2) = exp(-|x| / 2) * exp(-+lo / 2) ~ exp(-|x| / 2) * (1 -+ lo / 2).
  const V signed_half_lo = hn::Mul(hn::IfThenElse(negative, lo, hn::Neg(lo)), half);
  const V arg = hn::Max(hn::Mul(hn::Neg(hn::Abs(x)), half), hn::Set(d, -105.0f));
  const V h = hn::Mul(hn::Exp(d, arg), hn::Add(one, signed_half_lo));
  const V r = hn::Div(one, hn::MulAdd(h, h, one));
  return {negative, h, r};
}

HWY_INLINE V Logistic(D d, V x) {
  const SigmoidParts p = Sigmoid(d, x, hn::Zero(d));
  const V y = hn::IfThenElse(p.negative, hn::Mul(hn::Mul(p.h, p.r), p.h), p.r);
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}

HWY_INLINE V Tanh(D d, V x) { return hn::IfThenElse(hn::IsNaN(x), x, hn::Tanh(d, x)); }

// GELU (tanh approximation) = 0.5x(1 + tanh(u)) = x * sigmoid(2u), with
// 2u = K1 x + K2 x^3, K1 = 2 sqrt(2/pi), K2 = K1 * 0.044715 (PyTorch's constants).
// For x << 0 the result is ~x e^(2u) and its relative error is |2u| times that of 2u,
// so 2u is carried as hi + lo (error-free products via FMA, constants split in two
// floats): without this the error grows to ~2e-6 at x = -5.
HWY_INLINE V GeluTanh(D d, V x) {
  constexpr double kK1 = 1.5957691216057308;  // 2 * sqrt(2 / pi)
  constexpr double kK2 = kK1 * 0.044715;
  const V k1h = hn::Set(d, static_cast<float>(kK1));
  const V k1l = hn::Set(d, static_cast<float>(kK1 - static_cast<float>(kK1)));
  const V k2h = hn::Set(d, static_cast<float>(kK2));
  const V k2l = hn::Set(d, static_cast<float>(kK2 - static_cast<float>(kK2)));
  const V x2 = hn::Mul(x, x);
  const V x2e = hn::MulSub(x, x, x2);  // x^2 = x2 + x2e exactly
  const V x3 = hn::Mul(x2, x);
  const V x3e = hn::MulAdd(x2e, x, hn::MulSub(x2, x, x3));  // x^3 ~ x3 + x3e
  const V a = hn::Mul(k1h, x);
  const V ae = hn::MulSub(k1h, x, a);
  const V b = hn::Mul(k2h, x3);
  const V be = hn::MulSub(k2h, x3, b);
  const V s = hn::Add(a, b);  // TwoSum: s + se = a + b exactly
  const V bv = hn::Sub(s, a);
  const V se = hn::Add(hn::Sub(a, hn::Sub(s, bv)), hn::Sub(b, bv));
  V lo = hn::Add(hn::Add(se, hn::Add(ae, be)),
                 hn::MulAdd(k1l, x, hn::MulAdd(k2h, x3e, hn::Mul(k2l, x3))));
  // Beyond |x| = 1e4 the sigmoid is saturated and x^3 may overflow (lo = NaN).
  lo = hn::IfThenZeroElse(hn::Gt(hn::Abs(x), hn::Set(d, 1e4f)), lo);
  const SigmoidParts p = Sigmoid(d, s, lo);
  const V xr = hn::Mul(x, p.r);
  const V y = hn::IfThenElse(p.negative, hn::Mul(hn::Mul(xr, p.h), p.h), xr);
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}

// GELU (erf form) = x * Phi(x), Phi(x) = 0.5 erfc(-x / sqrt(2)). erfc(z) for z >= 0 is
// Numerical Recipes' Chebyshev fit t exp(-z^2 + P(t)), t = 1 / (1 + z/2), relative
// error < 1.2e-7 everywhere; erfc(-z) = 2 - erfc(z). exp(-z^2) is evaluated as
// exp(-x2/2) * exp(P - x2e/2) with x^2 = x2 + x2e exact, so the large exponent is not
// rounded (that would cost |z^2| * 6e-8 relative).
HWY_INLINE V GeluErf(D d, V x) {
  const V half = hn::Set(d, 0.5f);
  // Phi(-16) < 1e-57 underflows anyway; the clamp keeps x2e finite.
  const V ax = hn::Min(hn::Abs(x), hn::Set(d, 16.0f));
  const V t =
      hn::Div(hn::Set(d, 1.0f), hn::MulAdd(ax, hn::Set(d, 0.35355339059327373f), hn::Set(d, 1.0f)));
  V p = hn::Set(d, 0.17087277f);
  p = hn::MulAdd(p, t, hn::Set(d, -0.82215223f));
  p = hn::MulAdd(p, t, hn::Set(d, 1.48851587f));
  p = hn::MulAdd(p, t, hn::Set(d, -1.13520398f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.27886807f));
  p = hn::MulAdd(p, t, hn::Set(d, -0.18628806f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.09678418f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.37409196f));
  p = hn::MulAdd(p, t, hn::Set(d, 1.00002368f));
  p = hn::MulAdd(p, t, hn::Set(d, -1.26551223f));
  const V x2 = hn::Mul(ax, ax);
  const V x2e = hn::MulSub(ax, ax, x2);
  // erfc(|x| / sqrt 2) = t * exp(P - x2e/2) * exp(-x2/2); the last factor may be
  // denormal, so for x < 0 it is multiplied in last (one rounding into the denormals).
  const V small = hn::Mul(t, hn::Exp(d, hn::NegMulAdd(half, x2e, p)));
  const V big = hn::Exp(d, hn::Mul(hn::Neg(half), x2));
  const V half_x = hn::Mul(half, x);
  const V negative_y = hn::Mul(hn::Mul(half_x, small), big);  // x * 0.5 r
  const V positive_y =
      hn::Mul(x, hn::NegMulAdd(half, hn::Mul(small, big), hn::Set(d, 1.0f)));  // x (1 - 0.5 r)
  const V y = hn::IfThenElse(hn::Lt(x, hn::Zero(d)), negative_y, positive_y);
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}

template <FloatUnaryOp kOp>
HWY_INLINE V ApplyUnary(D d, V x) {
  const V zero = hn::Zero(d);
  if constexpr (kOp == FloatUnaryOp::kNeg) return hn::Neg(x);
  if constexpr (kOp == FloatUnaryOp::kAbs) return hn::Abs(x);
  if constexpr (kOp == FloatUnaryOp::kSquare) return hn::Mul(x, x);
  if constexpr (kOp == FloatUnaryOp::kSqrt) return hn::Sqrt(x);
  if constexpr (kOp == FloatUnaryOp::kRsqrt) return hn::Div(hn::Set(d, 1.0f), hn::Sqrt(x));
  if constexpr (kOp == FloatUnaryOp::kExp) return ExpAnyInput(d, x);
  if constexpr (kOp == FloatUnaryOp::kLogistic) return Logistic(d, x);
  if constexpr (kOp == FloatUnaryOp::kTanh) return Tanh(d, x);
  if constexpr (kOp == FloatUnaryOp::kGeluTanh) return GeluTanh(d, x);
  if constexpr (kOp == FloatUnaryOp::kGeluErf) return GeluErf(d, x);
  if constexpr (kOp == FloatUnaryOp::kRelu) return hn::IfThenElse(hn::Gt(x, zero), x, zero);
  if constexpr (kOp == FloatUnaryOp::kFusedRelu) return hn::IfThenElse(hn::Lt(x, zero), zero, x);
  if constexpr (kOp == FloatUnaryOp::kFusedRelu6 || kOp == FloatUnaryOp::kFusedReluN1To1) {
    // std::clamp(x, lo, hi) = x < lo ? lo : (hi < x ? hi : x): NaN stays NaN.
    const V lo = hn::Set(d, kOp == FloatUnaryOp::kFusedRelu6 ? 0.0f : -1.0f);
    const V hi = hn::Set(d, kOp == FloatUnaryOp::kFusedRelu6 ? 6.0f : 1.0f);
    return hn::IfThenElse(hn::Lt(x, lo), lo, hn::IfThenElse(hn::Lt(hi, x), hi, x));
  }
  return x;
}

template <FloatUnaryOp kOp>
void UnaryLoop(const float* in, float* out, size_t n) {
  const D d;
  const size_t lanes = hn::Lanes(d);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(ApplyUnary<kOp>(d, hn::LoadU(d, in + i)), d, out + i);
  }
  if (i < n) {
    HWY_ALIGN float buf[kBufferFloats] = {};
    std::memcpy(buf, in + i, (n - i) * sizeof(float));
    hn::Store(ApplyUnary<kOp>(d, hn::Load(d, buf)), d, buf);
    std::memcpy(out + i, buf, (n - i) * sizeof(float));
  }
}

void Unary(FloatUnaryOp op, const float* in, float* out, size_t n) {
  switch (op) {
#define LITEQ_UNARY_CASE(name) \
  case FloatUnaryOp::name:     \
    return UnaryLoop<FloatUnaryOp::name>(in, out, n);
    LITEQ_UNARY_CASE(kNeg)
    LITEQ_UNARY_CASE(kAbs)
    LITEQ_UNARY_CASE(kSquare)
    LITEQ_UNARY_CASE(kSqrt)
    LITEQ_UNARY_CASE(kRsqrt)
    LITEQ_UNARY_CASE(kExp)
    LITEQ_UNARY_CASE(kLogistic)
    LITEQ_UNARY_CASE(kTanh)
    LITEQ_UNARY_CASE(kGeluTanh)
    LITEQ_UNARY_CASE(kGeluErf)
    LITEQ_UNARY_CASE(kRelu)
    LITEQ_UNARY_CASE(kFusedRelu)
    LITEQ_UNARY_CASE(kFusedRelu6)
    LITEQ_UNARY_CASE(kFusedReluN1To1)
#undef LITEQ_UNARY_CASE
  }
}

template <FloatBinaryOp kOp>
HWY_INLINE V ApplyBinary(V a, V b) {
  if constexpr (kOp == FloatBinaryOp::kAdd) return hn::Add(a, b);
  if constexpr (kOp == FloatBinaryOp::kSub) return hn::Sub(a, b);
  if constexpr (kOp == FloatBinaryOp::kMul) return hn::Mul(a, b);
  if constexpr (kOp == FloatBinaryOp::kDiv) return hn::Div(a, b);
  if constexpr (kOp == FloatBinaryOp::kMaximum) return hn::IfThenElse(hn::Gt(a, b), a, b);
  if constexpr (kOp == FloatBinaryOp::kMinimum) return hn::IfThenElse(hn::Lt(a, b), a, b);
  if constexpr (kOp == FloatBinaryOp::kSquaredDifference) {
    const V diff = hn::Sub(a, b);
    return hn::Mul(diff, diff);
  }
  return a;
}

// kAStep/kBStep: whether a / b advance (1) or repeat their first element (0).
template <FloatBinaryOp kOp, size_t kAStep, size_t kBStep>
void BinaryLoop(const float* a, const float* b, float* out, size_t n) {
  const D d;
  const size_t lanes = hn::Lanes(d);
  const V va0 = hn::Set(d, a[0]);
  const V vb0 = hn::Set(d, b[0]);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const V va = kAStep ? hn::LoadU(d, a + i) : va0;
    const V vb = kBStep ? hn::LoadU(d, b + i) : vb0;
    hn::StoreU(ApplyBinary<kOp>(va, vb), d, out + i);
  }
  if (i < n) {
    HWY_ALIGN float ba[kBufferFloats] = {};
    HWY_ALIGN float bb[kBufferFloats] = {};
    if (kAStep) std::memcpy(ba, a + i, (n - i) * sizeof(float));
    if (kBStep) std::memcpy(bb, b + i, (n - i) * sizeof(float));
    const V va = kAStep ? hn::Load(d, ba) : va0;
    const V vb = kBStep ? hn::Load(d, bb) : vb0;
    hn::Store(ApplyBinary<kOp>(va, vb), d, ba);
    std::memcpy(out + i, ba, (n - i) * sizeof(float));
  }
}

template <FloatBinaryOp kOp>
void BinaryForm(BinaryOperands form, const float* a, const float* b, float* out, size_t n) {
  switch (form) {
    case BinaryOperands::kVectorVector:
      return BinaryLoop<kOp, 1, 1>(a, b, out, n);
    case BinaryOperands::kVectorScalar:
      return BinaryLoop<kOp, 1, 0>(a, b, out, n);
    case BinaryOperands::kScalarVector:
      return BinaryLoop<kOp, 0, 1>(a, b, out, n);
  }
}

void Binary(FloatBinaryOp op, BinaryOperands form, const float* a, const float* b, float* out,
            size_t n) {
  if (n == 0) return;
  switch (op) {
#define LITEQ_BINARY_CASE(name) \
  case FloatBinaryOp::name:     \
    return BinaryForm<FloatBinaryOp::name>(form, a, b, out, n);
    LITEQ_BINARY_CASE(kAdd)
    LITEQ_BINARY_CASE(kSub)
    LITEQ_BINARY_CASE(kMul)
    LITEQ_BINARY_CASE(kDiv)
    LITEQ_BINARY_CASE(kMaximum)
    LITEQ_BINARY_CASE(kMinimum)
    LITEQ_BINARY_CASE(kSquaredDifference)
#undef LITEQ_BINARY_CASE
  }
}

double SumToDouble(const float* in, size_t n) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;  // as many floats as dd has doubles
  const size_t lanes = hn::Lanes(dd);
  auto acc = hn::Zero(dd);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) acc = hn::Add(acc, hn::PromoteTo(dd, hn::LoadU(df, in + i)));
  HWY_ALIGN double parts[kBufferFloats];
  hn::Store(acc, dd, parts);
  double sum = 0.0;
  for (size_t l = 0; l < lanes; ++l) sum += parts[l];
  for (; i < n; ++i) sum += static_cast<double>(in[i]);
  return sum;
}

// Lane l runs m = x > m ? x : m over the elements i with i % lanes == l (from in[0];
// the tail's missing lanes hold in[0]), then the lanes are combined the same way.
float MaxOf(const float* in, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  const auto first = hn::Set(d, in[0]);
  auto m = first;
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto x = hn::LoadU(d, in + i);
    m = hn::IfThenElse(hn::Gt(x, m), x, m);
  }
  HWY_ALIGN float parts[kBufferFloats];
  if (i < n) {  // the tail, padded with in[0]
    std::fill(parts, parts + lanes, in[0]);
    std::memcpy(parts, in + i, (n - i) * sizeof(float));
    const auto x = hn::Load(d, parts);
    m = hn::IfThenElse(hn::Gt(x, m), x, m);
  }
  hn::Store(m, d, parts);
  float max = parts[0];
  for (size_t l = 1; l < lanes; ++l) max = parts[l] > max ? parts[l] : max;
  return max;
}

}  // namespace HWY_NAMESPACE
}  // namespace liteq::runtime
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace liteq::runtime {

HWY_EXPORT(Unary);
HWY_EXPORT(Binary);
HWY_EXPORT(SumToDouble);
HWY_EXPORT(MaxOf);

void SimdFloatUnary(FloatUnaryOp op, const float* in, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(Unary)(op, in, out, n);
}

void SimdFloatBinary(FloatBinaryOp op, BinaryOperands form, const float* a, const float* b,
                     float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(Binary)(op, form, a, b, out, n);
}

float SimdMax(const float* in, size_t n) {
  LITEQ_CHECK(n > 0);
  return HWY_DYNAMIC_DISPATCH(MaxOf)(in, n);
}

double SimdSumToDouble(const float* in, size_t n) {
  return HWY_DYNAMIC_DISPATCH(SumToDouble)(in, n);
}

}  // namespace liteq::runtime
#endif  // HWY_ONCE
