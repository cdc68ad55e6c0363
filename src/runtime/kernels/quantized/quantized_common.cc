#include "runtime/kernels/quantized/quantized_common.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace liteq::runtime::quantized {
namespace {

int32_t QuantizeBound(float f, quant::QuantParams output) {
  return output.zero_point + static_cast<int32_t>(std::round(f / output.scale));
}

}  // namespace

ActivationRange QuantizedActivationRange(FusedActivation activation, quant::QuantParams output,
                                         int32_t qmin, int32_t qmax) {
  switch (activation) {
    case FusedActivation::kNone:
      return {qmin, qmax};
    case FusedActivation::kRelu:
      return {std::max(qmin, QuantizeBound(0.0f, output)), qmax};
    case FusedActivation::kReluN1To1:
      return {std::max(qmin, QuantizeBound(-1.0f, output)),
              std::min(qmax, QuantizeBound(1.0f, output))};
    case FusedActivation::kRelu6:
      return {std::max(qmin, QuantizeBound(0.0f, output)),
              std::min(qmax, QuantizeBound(6.0f, output))};
  }
  return {qmin, qmax};
}

void FloatActivationRange(FusedActivation activation, float* min, float* max) {
  *min = std::numeric_limits<float>::lowest();
  *max = std::numeric_limits<float>::max();
  switch (activation) {
    case FusedActivation::kNone:
      break;
    case FusedActivation::kRelu:
      *min = 0.0f;
      break;
    case FusedActivation::kReluN1To1:
      *min = -1.0f;
      *max = 1.0f;
      break;
    case FusedActivation::kRelu6:
      *min = 0.0f;
      *max = 6.0f;
      break;
  }
}

bool IsValidScale(float scale) {
  // Scales below ~1e-30 make 1/scale overflow in float.
  return std::isfinite(scale) && scale > 1e-30f;
}

Status CheckScale(float scale, const std::string& what) {
  if (!IsValidScale(scale)) {
    return InvalidArgumentError(what + ": quantization scale " + std::to_string(scale) +
                                " is not a positive finite number");
  }
  return Status::Ok();
}

Status CheckZeroPoint(int32_t zero_point, int32_t qmin, int32_t qmax, const std::string& what) {
  if (zero_point < qmin || zero_point > qmax) {
    return InvalidArgumentError(what + ": zero point " + std::to_string(zero_point) +
                                " is outside [" + std::to_string(qmin) + ", " +
                                std::to_string(qmax) + "]");
  }
  return Status::Ok();
}

int32_t ApplyMultiplier(int64_t x, quant::QuantizedMultiplier m) {
  LITEQ_CHECK(m.shift >= -31 && m.shift <= 30);
  const int total_shift = 31 - m.shift;  // in [1, 62]
  if (x >= std::numeric_limits<int32_t>::min() && x <= std::numeric_limits<int32_t>::max()) {
    // The common case (int32 accumulators) in 64 bits, same value: |x * multiplier|
    // <= 2^62 and the rounding term is <= 2^61, so nothing overflows; the result of a
    // shift by >= 1 is within (-2^62, 2^62) and saturates below.
    const int64_t r = (x * m.multiplier + (int64_t{1} << (total_shift - 1))) >> total_shift;
    if (r < std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::min();
    if (r > std::numeric_limits<int32_t>::max()) return std::numeric_limits<int32_t>::max();
    return static_cast<int32_t>(r);
  }
  const __int128 rounded =
      static_cast<__int128>(x) * m.multiplier + (static_cast<__int128>(1) << (total_shift - 1));
  const __int128 result = rounded >> total_shift;  // arithmetic shift: floor
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  if (result < kMin) return kMin;
  if (result > kMax) return kMax;
  return static_cast<int32_t>(result);
}

int32_t ApplyMultiplier(int32_t x, quant::QuantizedMultiplier m, bool single) {
  return single ? ApplyMultiplier(int64_t{x}, m)
                : quant::MultiplyByQuantizedMultiplier(x, m.multiplier, m.shift);
}

Result<quant::QuantizedMultiplier> PrepareMultiplier(double real, int max_shift,
                                                     const std::string& what) {
  if (!std::isfinite(real) || real < 0) {
    return InvalidArgumentError(what + ": rescale factor " + std::to_string(real) +
                                " is not a non-negative finite number");
  }
  const quant::QuantizedMultiplier m = quant::QuantizeMultiplier(real);
  if (m.shift > max_shift) {
    return InvalidArgumentError(what + ": rescale factor " + std::to_string(real) +
                                " is too large for the integer kernel");
  }
  return m;
}

}  // namespace liteq::runtime::quantized
