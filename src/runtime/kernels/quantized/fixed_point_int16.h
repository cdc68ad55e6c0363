// LOGISTIC and TANH of a Q3.12 int16 value in 16-bit fixed-point arithmetic, with
// the primitives and polynomial/Newton-Raphson steps of gemmlowp's fixedpoint.h
// (logistic, tanh, exp_on_negative_values on FixedPoint<int16_t, 3>). TFLite's
// optimized int16 LOGISTIC / TANH kernels (optimized_ops::Logistic / Tanh, what
// LiteRT runs) take this route when the input scale is a power of two (2^-12, or
// 2^-11 for TANH after a saturating doubling); logistic_tanh_int16.h dispatches.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_FIXED_POINT_INT16_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_FIXED_POINT_INT16_H_

#include <cstdint>

namespace liteq::runtime::quantized {

// x in Q3.12 (x / 4096); the result in Q0.15 (0.5 = 16384, 1 saturates to 32767).
int16_t FixedPointLogisticQ3(int16_t x);
// x in Q3.12; the result in Q0.15 (tanh, -32768..32767).
int16_t FixedPointTanhQ3(int16_t x);
// gemmlowp SaturatingRoundingMultiplyByPOT<1> on int16 (TANH at scale 2^-11).
int16_t SaturatingDoubleInt16(int16_t x);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_FIXED_POINT_INT16_H_
