// int8 RSQRT as TFLite's elementwise.cc computes it (RsqrtEvalQuantized): integer
// arithmetic per value, no float table.
//   v = q - zp_in;  v == 0 -> 127;  v < 0 -> an error (TFLite: "Rsqrt is only defined
//   for positive values")
//   (m_v, s_v) = GetInvSqrtQuantizedMultiplierExp(v)   (gemmlowp Newton-Raphson, 1/sqrt v)
//   data = MBQM(1, m_v, s_v + 20);  out = clamp(MBQM(data, m, s - 20) + zp_out)
// with m, s = QuantizeMultiplier(1 / (sqrt(s_in) * s_out)) (sqrt in float, the rest
// in double). MBQM is TFLite's double-rounding MultiplyByQuantizedMultiplier (LiteRT
// runs this op in TFLite's kernel; equal on all 256 inputs in
// tests/e2e/litert_int_conformance_test.cc). The result depends on q only, so it is
// tabulated at Prepare.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_RSQRT_INT_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_RSQRT_INT_H_

#include <array>
#include <cstdint>

#include "runtime/kernels/quantized/quantized_common.h"

namespace liteq::runtime::quantized {

// TFLite GetInvSqrtQuantizedMultiplierExp with reverse_shift -1: 1/sqrt(input) as a
// multiplier and a (left) shift. input >= 0; 0 and 1 give {INT32_MAX, 0}.
quant::QuantizedMultiplier InvSqrtMultiplier(int32_t input);

struct RsqrtInt8Table {
  std::array<int8_t, 256> values{};  // indexed by uint8_t(q)
  int32_t input_zero_point = 0;      // inputs below it are invalid
};
// InvalidArgument when the output multiplier is outside the kernel's shift range.
Result<RsqrtInt8Table> PrepareRsqrtInt8(quant::QuantParams input, quant::QuantParams output);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_RSQRT_INT_H_
