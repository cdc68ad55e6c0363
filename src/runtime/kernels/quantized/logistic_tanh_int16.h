// int16 LOGISTIC and TANH as LiteRT computes them (TFLite activations.cc
// SigmoidPrepare / TanhPrepare and SigmoidEval / TanhEval for int16): symmetric int16
// input (zero point 0), output scale 1/32768 and zero point 0.
//
// General input scales (TFLite's reference_integer_ops::Logistic / Tanh, which its
// optimized kernels call too): linear interpolation in a 256-entry table of
// sigmoid(i / 24) in 0.16 fixed point (tanh(x) = 2 sigmoid(2x) - 1 reads the same
// table). The input is first brought to the table's scale 1/(3 * 4096) (+-2^17 spans
// +-10.7, i.e. 255 / 24) by q * (int)(s * 3 * 4096 * 2^shift), the shift chosen so
// the multiplier lands in (16383.5, 32767], then a rounding shift (add half, shift).
//
// Power-of-two input scales (CheckedLog2, 1e-3 tolerance): 2^-12 for LOGISTIC, 2^-12
// or 2^-11 for TANH. TFLite marks them with multiplier 0, and its optimized kernels
// (which LiteRT runs; the reference kernel would use the table with multiplier
// 3 << shift) then evaluate gemmlowp's fixed-point logistic / tanh on the raw value
// as Q3.12 (doubled, saturating, for TANH at 2^-11): fixed_point_int16.h.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_LOGISTIC_TANH_INT16_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_LOGISTIC_TANH_INT16_H_

#include <array>
#include <cstdint>
#include <span>

#include "liteq/status.h"
#include "quant/quant_params.h"

namespace liteq::runtime::quantized {

// sigmoid(i / 24) for i in [0, 255] in 0.16 fixed point, equal to TFLite's
// sigmoid_table_uint16 (built once from the rule described in the .cc).
const std::array<uint16_t, 256>& SigmoidTableUint16();

// As TFLite's OpData: input_multiplier 0 marks the power-of-two case (fixed-point
// path; input_left_shift 1 doubles the TANH input). Otherwise the rescale onto the
// table's scale is q_table = (q * multiplier + 2^(shift-1)) >> shift (no rounding
// term when shift is 0).
struct Int16SigmoidParams {
  int32_t input_multiplier = 0;
  int32_t input_left_shift = 0;
};

// TFLite's Prepare checks: input zero point 0; LOGISTIC output exactly scale 1/32768
// and zero point 0; TANH output zero point 0 and scale 2^-15 (within TFLite's
// CheckedLog2 tolerance). Input scales so large that TFLite's int32 product would
// overflow (multiplier * 32768 >= 2^31, scale above ~5.3) are rejected.
Result<Int16SigmoidParams> PrepareLogisticInt16(quant::QuantParams input,
                                                quant::QuantParams output);
Result<Int16SigmoidParams> PrepareTanhInt16(quant::QuantParams input, quant::QuantParams output);

void LogisticInt16(const Int16SigmoidParams& params, std::span<const int16_t> input,
                   std::span<int16_t> output);
void TanhInt16(const Int16SigmoidParams& params, std::span<const int16_t> input,
               std::span<int16_t> output);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_LOGISTIC_TANH_INT16_H_
