// SIMD float32 elementwise math for the unary, binary and fused-activation kernels
// (Highway, dispatched at run time to the best instruction set the CPU has).
//
// Every function processes [0, n) with the same vector algorithm for every element,
// tails included (a partial vector goes through a stack buffer), so the result of an
// element does not depend on where a thread's chunk starts: splitting a tensor
// across threads gives bit-identical output to one call.
//
// Exactness: NEG, ABS, SQUARE, SQRT, RSQRT (1/sqrt, two correctly rounded ops), RELU,
// the fused clamps and every binary op here are bit-identical to the scalar kernels.
// EXP, LOGISTIC, TANH and both GELUs are polynomial approximations; their measured
// error against a double-precision reference is bounded by the constants below
// (tests/runtime/float_math_simd_test.cc asserts them over [-100, 100], +-inf and
// denormals). NaN in gives NaN out for every op (the sign/payload may differ).
#ifndef LITEQ_RUNTIME_KERNELS_FLOAT_MATH_SIMD_H_
#define LITEQ_RUNTIME_KERNELS_FLOAT_MATH_SIMD_H_

#include <cstddef>
#include <cstdint>

namespace liteq::runtime {

// Relative error |y - ref| / max(|ref|, FLT_MIN) against a double-precision
// reference; below FLT_MIN (denormal results) the bound applies to the absolute error
// in units of FLT_MIN. Measured maxima over the test's 1.7M inputs (AVX2 target) are in brackets.
//
// EXP: Highway's Exp (documented 1 ulp) [measured 8.9e-8 at x = -88.02].
inline constexpr double kExpSimdMaxRelError = 2e-7;
// LOGISTIC: e = exp(-|x|), then 1/(1+e) or e/(1+e) [measured 2.9e-7 at x = -10.3].
// The scalar kernel's 1/(1+exp(-x)) is as accurate, except it flushes x < -88.7 to 0
// where the true value is a denormal.
inline constexpr double kLogisticSimdMaxRelError = 4e-7;
// TANH: Highway's Tanh (expm1-based, documented 4 ulp) [measured 2.1e-7 at x = 0.18].
inline constexpr double kTanhSimdMaxRelError = 4e-7;
// GELU, tanh approximation, written as x * sigmoid(2u) = 0.5x(1 + tanh(u)) (exact
// identity) so the negative tail does not cancel [measured 4.1e-7 at x = -4.71]. The
// scalar kernel's 0.5x(1 + tanh(u)) loses all relative accuracy below x ~ -5.
inline constexpr double kGeluTanhSimdMaxRelError = 6e-7;
// GELU, erf form, as x * 0.5 * erfc(-x/sqrt(2)) with a Chebyshev erfc fit (relative
// error < 1.2e-7, Numerical Recipes' erfcc) times exp(-x^2/2) evaluated without
// rounding x^2/2 [measured 5.0e-7 at x = -12.65]. The scalar 0.5x(1 + erf(x/sqrt2))
// cancels for negative x as above.
inline constexpr double kGeluErfSimdMaxRelError = 8e-7;

enum class FloatUnaryOp : uint8_t {
  kNeg,
  kAbs,
  kSquare,
  kSqrt,
  kRsqrt,  // 1 / sqrt(x): 0 -> inf, negative -> NaN, as the scalar kernel
  kExp,
  kLogistic,
  kTanh,
  kGeluTanh,
  kGeluErf,
  kRelu,  // RELU op: x > 0 ? x : 0 (NaN -> 0, as the scalar kernel)
  // Fused activations (activation.h semantics: NaN passes through).
  kFusedRelu,       // std::max(x, 0)
  kFusedRelu6,      // std::clamp(x, 0, 6)
  kFusedReluN1To1,  // std::clamp(x, -1, 1)
};

// out[i] = op(in[i]) for i in [0, n); out may equal in.
void SimdFloatUnary(FloatUnaryOp op, const float* in, float* out, size_t n);

enum class FloatBinaryOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMaximum,  // a > b ? a : b, as the scalar kernel (NaN handling included)
  kMinimum,  // a < b ? a : b
  kSquaredDifference,
};

// Which operands advance: the broadcast kernels see rows where an input's stride is
// 1 (a vector) or 0 (one value repeated).
enum class BinaryOperands : uint8_t { kVectorVector, kVectorScalar, kScalarVector };

// out[i] = op(a[i or 0], b[i or 0]); out may equal a or b.
void SimdFloatBinary(FloatBinaryOp op, BinaryOperands form, const float* a, const float* b,
                     float* out, size_t n);

// The maximum of in[0, n), n > 0, as the kernels' sequential m = in[0]; m = x > m ? x : m
// gives it: elements after a NaN in[0] leave it NaN, later NaNs are skipped. The one
// difference: when the maximum is a zero present with both signs, either sign may come
// back (x - max and exp(x - max), what SOFTMAX computes from it, are the same then).
float SimdMax(const float* in, size_t n);

// Sum of in[0, n) in double: lane l of a vector of doubles accumulates the elements
// i with i % lanes == l (the float is widened exactly), then the lanes are added in
// order. The only rounding is that of the double additions.
double SimdSumToDouble(const float* in, size_t n);
// MEAN/SUM rows summed this way, rounded to float, are within this many float ulp of
// the sequential double sum (rows without cancellation: both sums are within
// n * 2^-53 relative of the exact one, far below a float ulp, so they differ only
// where the double lands next to a float rounding boundary).
inline constexpr int kReduceSimdMaxUlp = 1;

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_FLOAT_MATH_SIMD_H_
