// Pieces shared by the integer reference kernels: fused activation ranges and the
// validation every Prepare does on scales and multipliers.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_QUANTIZED_COMMON_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_QUANTIZED_COMMON_H_

#include <cstdint>
#include <string>

#include "liteq/status.h"
#include "quant/fixed_point.h"
#include "quant/quant_params.h"

namespace liteq::runtime::quantized {

// The schema's ActivationFunctionType values that integer kernels support.
enum class FusedActivation { kNone, kRelu, kReluN1To1, kRelu6 };

struct ActivationRange {
  int32_t min = 0;
  int32_t max = 0;
};

// TFLite CalculateActivationRangeQuantized: clamp bounds are the quantized images
// of the activation's float bounds (zp + round(f / scale)), intersected with
// [qmin, qmax].
ActivationRange QuantizedActivationRange(FusedActivation activation, quant::QuantParams output,
                                         int32_t qmin, int32_t qmax);

// Float bounds of a fused activation (hybrid kernels clamp in float).
void FloatActivationRange(FusedActivation activation, float* min, float* max);

// InvalidArgument unless scale is finite and > 0; `what` names the tensor.
Status CheckScale(float scale, const std::string& what);
// What CheckScale accepts, without building a message (per-channel loops).
bool IsValidScale(float scale);
// InvalidArgument unless zero_point is in [qmin, qmax].
Status CheckZeroPoint(int32_t zero_point, int32_t qmin, int32_t qmax, const std::string& what);

// x * real for a multiplier from QuantizeMultiplier with ONE rounding of the exact
// product, the full 31-bit multiplier also for int64 accumulators:
//   (x * multiplier + 2^(30 - shift)) >> (31 - shift)      (ties towards +infinity)
// This is ruy's MultiplyByQuantizedMultiplier (TFLite's optimized FULLY_CONNECTED
// runs on ruy) and matches XNNPACK's integer requantization on ties. LiteRT
// (@litertjs/core, TFLite built with gemmlowp double rounding plus the XNNPACK
// delegate) was measured op by op in tests/e2e/litert_int_conformance_test.cc:
//   - FULLY_CONNECTED 16x8 matches only this (the 16-bit reduced multiplier of
//     TFLite's int64 MultiplyByQuantizedMultiplier misses ~10% of outputs);
//   - int8 FULLY_CONNECTED, ADD, requantization (XNNPACK) round exact ties like this
//     (-1.5 -> -1, 0.25 -> 0), not like double rounding;
//   - BATCH_MATMUL and the int16 ops run TFLite's double rounding instead
//     (quant::MultiplyByQuantizedMultiplier).
// The product is formed in 128 bits, so no input overflows; a result outside int32
// (impossible for validated multipliers and real accumulators) saturates.
// shift in [-31, 30].
int32_t ApplyMultiplier(int64_t x, quant::QuantizedMultiplier m);

// x * real by the rounding `single` selects: ApplyMultiplier (true) or TFLite's
// default-build double rounding, quant::MultiplyByQuantizedMultiplier (false). Which
// one an op uses follows what LiteRT runs for it: XNNPACK for int8 ADD/SUB/MUL and
// int8 requantization, TFLite's kernels (double rounding) for the int16 ones.
int32_t ApplyMultiplier(int32_t x, quant::QuantizedMultiplier m, bool single);

// QuantizeMultiplier(real) with the shift range the integer kernels can apply
// ([-31, max_shift]); an out-of-range multiplier is an InvalidArgument naming `what`.
Result<quant::QuantizedMultiplier> PrepareMultiplier(double real, int max_shift,
                                                     const std::string& what);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_QUANTIZED_COMMON_H_
