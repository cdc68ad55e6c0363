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
// InvalidArgument unless zero_point is in [qmin, qmax].
Status CheckZeroPoint(int32_t zero_point, int32_t qmin, int32_t qmax, const std::string& what);

// QuantizeMultiplier(real) with the shift range the integer kernels can apply
// ([-31, max_shift]); an out-of-range multiplier is an InvalidArgument naming `what`.
Result<quant::QuantizedMultiplier> PrepareMultiplier(double real, int max_shift,
                                                     const std::string& what);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_QUANTIZED_COMMON_H_
