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

#include <algorithm>
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

// One output element of MUL / ADD/SUB from the input elements a and b: the
// reference kernels' arithmetic, shared with the fast rows (requantize_rows.h).
// + output zero point, then the activation clamp. The addition wraps modulo 2^32 (in
// uint32, so it is defined) for the one case that overflows, a saturated MUL product
// (multiplier >= 1) plus a positive zero point.
template <typename Params>
int32_t ClampWithOffset(const Params& p, int32_t scaled) {
  const auto out =
      static_cast<int32_t>(static_cast<uint32_t>(scaled) + static_cast<uint32_t>(p.output_offset));
  return std::clamp(out, p.activation.min, p.activation.max);
}
inline int32_t MulElement(const MulParams& p, int32_t a, int32_t b) {
  const int32_t product = (p.input1_offset + a) * (p.input2_offset + b);
  return ClampWithOffset(p, ApplyMultiplier(product, p.output, p.single_rounding));
}
// input2 of ADD/SUB brought to the common scale (its half of AddSubElement).
inline int32_t AddSubScaledInput2(const AddSubParams& p, int32_t b) {
  return ApplyMultiplier((p.input2_offset + b) * (1 << p.left_shift), p.input2, p.single_rounding);
}
inline int32_t AddSubElementScaled(const AddSubParams& p, int32_t a, int32_t scaled_b) {
  const int32_t sa =
      ApplyMultiplier((p.input1_offset + a) * (1 << p.left_shift), p.input1, p.single_rounding);
  const int32_t raw = p.subtract ? sa - scaled_b : sa + scaled_b;
  return ClampWithOffset(p, ApplyMultiplier(raw, p.output, p.single_rounding));
}
// (SmallerThanOneExp equals MultiplyByQuantizedMultiplier for shifts <= 0.)
inline int32_t AddSubElement(const AddSubParams& p, int32_t a, int32_t b) {
  return AddSubElementScaled(p, a, AddSubScaledInput2(p, b));
}

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
