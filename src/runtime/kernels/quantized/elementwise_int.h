// ADD, SUB and MUL on int8 / int16 tensors with broadcasting (TFLite add.cc, sub.cc,
// mul.cc Prepare + reference_integer_ops Add/Sub/Mul).
//
// ADD/SUB (general rescaling path): both inputs are brought to a common scale
// 2 * max(s1, s2) after a left shift (20 bits for int8, 15 for int16 — TFLite's
// general_scale_int16 path, selected when AddOptions/SubOptions.pot_scale_int16 is
// false, which liteq's writer must set), then
//   a' = R((a - zp1) << left_shift, m1, s1)   (same for b)
//   out = R(a' +/- b', m_out, s_out) + zp_out, clamped
// MUL: out = R((a - zp1) * (b - zp2), m, shift) + zp_out with
//   m, shift = QuantizeMultiplier(double(s1) * double(s2) / double(s_out)).
// R rounds once for int8 (ApplyMultiplier, quantized_common.h: what LiteRT's XNNPACK
// delegate gives on ties) and twice for int16 (TFLite's MultiplyByQuantizedMultiplier
// / ...SmallerThanOneExp, the kernels LiteRT runs for int16).
// int16 requires zero points 0 (TFLite checks this for int16 ADD/SUB/MUL).
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_ELEMENTWISE_INT_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_ELEMENTWISE_INT_H_

#include <cstdint>
#include <span>

#include "runtime/kernels/quantized/broadcast.h"
#include "runtime/kernels/quantized/quantized_common.h"

namespace liteq::runtime::quantized {

enum class IntType { kInt8, kInt16 };

struct AddSubParams {
  bool subtract = false;
  int32_t input1_offset = 0;
  int32_t input2_offset = 0;
  int32_t output_offset = 0;
  int left_shift = 20;
  quant::QuantizedMultiplier input1;  // shifts are <= 0
  quant::QuantizedMultiplier input2;
  quant::QuantizedMultiplier output;
  ActivationRange activation;
  bool single_rounding = true;  // int8 (XNNPACK in LiteRT); int16: TFLite's double
};

struct MulParams {
  int32_t input1_offset = 0;
  int32_t input2_offset = 0;
  int32_t output_offset = 0;
  quant::QuantizedMultiplier output;
  ActivationRange activation;
  bool single_rounding = true;  // as AddSubParams
};

Result<AddSubParams> PrepareAddSub(IntType type, quant::QuantParams input1,
                                   quant::QuantParams input2, quant::QuantParams output,
                                   FusedActivation activation, bool subtract);
Result<MulParams> PrepareMul(IntType type, quant::QuantParams input1, quant::QuantParams input2,
                             quant::QuantParams output, FusedActivation activation);

// Span sizes must equal plan.input1_size / input2_size / output_size.
void AddSubInt8(const AddSubParams& params, const BroadcastPlan& plan,
                std::span<const int8_t> input1, std::span<const int8_t> input2,
                std::span<int8_t> output);
void AddSubInt16(const AddSubParams& params, const BroadcastPlan& plan,
                 std::span<const int16_t> input1, std::span<const int16_t> input2,
                 std::span<int16_t> output);
void MulInt8(const MulParams& params, const BroadcastPlan& plan, std::span<const int8_t> input1,
             std::span<const int8_t> input2, std::span<int8_t> output);
void MulInt16(const MulParams& params, const BroadcastPlan& plan, std::span<const int16_t> input1,
              std::span<const int16_t> input2, std::span<int16_t> output);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_ELEMENTWISE_INT_H_
