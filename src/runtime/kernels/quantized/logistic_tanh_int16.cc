#include "runtime/kernels/quantized/logistic_tanh_int16.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "runtime/kernels/quantized/fixed_point_int16.h"
#include "runtime/kernels/quantized/quantized_common.h"

namespace liteq::runtime::quantized {
namespace {

// The table's input step: entry i holds sigmoid(i / 24).
constexpr double kTableStepsPerUnit = 24.0;

// TFLite's table, regenerated: entry i is the value at i / 24 moved by half the
// error linear interpolation makes at the midpoint of [i, i+1], so interpolating
// between entries splits the (convex/concave) curve's error evenly between the
// knots and the midpoint. Computed in double, rounded half away from zero. The
// last entry (no interval after it) is pinned to 65535, the largest uint16, so
// interpolation towards it approaches 1.
std::array<uint16_t, 256> BuildSigmoidTable() {
  auto sigmoid_q16 = [](double x) { return 65536.0 / (1.0 + std::exp(-x / kTableStepsPerUnit)); };
  std::array<uint16_t, 256> table{};
  for (int i = 0; i < 255; ++i) {
    const double v = sigmoid_q16(i);
    const double v_next = sigmoid_q16(i + 1);
    const double midpoint_error = sigmoid_q16(i + 0.5) - (v + v_next) / 2.0;
    table[static_cast<size_t>(i)] = static_cast<uint16_t>(std::round(v + midpoint_error / 2.0));
  }
  table[255] = 65535;
  return table;
}

// TFLite quantization_util.cc CheckedLog2: log2 in float, rounded; a power of two
// when the fractional part is below 1e-3.
bool CheckedLog2(float x, int* log2_result) {
  const float x_log2 = std::log(x) * (1.0f / std::log(2.0f));
  const float rounded = std::round(x_log2);
  *log2_result = static_cast<int>(rounded);
  return std::abs(x_log2 - rounded) < 1e-3f;
}

// The power-of-two case, or the rescale onto the table's scale 1/(3 * 4096)
// (activations.cc, int16 branch of SigmoidPrepare / TanhPrepare).
// `max_pot_shift` is how far above 2^-12 a power-of-two input scale may be for the
// power-of-two case (LOGISTIC: 0; TANH: 0 or 1).
Result<Int16SigmoidParams> RescaleParams(float input_scale, int max_pot_shift,
                                         const std::string& op) {
  Int16SigmoidParams p;
  int log2_scale = 0;
  const bool pot = CheckedLog2(input_scale, &log2_scale);
  const int pot_shift = 12 + log2_scale;  // (15 - 3 integer bits) + log2(scale)
  if (pot && pot_shift >= 0 && pot_shift <= max_pot_shift) {
    p.input_multiplier = 0;  // the fixed-point path
    p.input_left_shift = pot_shift;
    return p;
  }
  double multiplier = static_cast<double>(input_scale) * 4096.0 * 3.0;
  while (multiplier <= 32767.0 / 2.0 && p.input_left_shift <= 30) {
    ++p.input_left_shift;
    multiplier *= 2.0;
  }
  // TFLite multiplies in int32: beyond this the product q * multiplier overflows.
  if (!(multiplier < 65536.0)) {
    return InvalidArgumentError("int16 " + op + " input scale " + std::to_string(input_scale) +
                                " is too large (the integer rescale would overflow)");
  }
  // Truncated, as TFLite does. (A scale so small that this is 0 lands on the
  // fixed-point path at Eval, as in TFLite, whose Eval tests the multiplier too.)
  p.input_multiplier = static_cast<int32_t>(multiplier);
  return p;
}

Status CheckInput(quant::QuantParams input, const std::string& op) {
  LITEQ_RETURN_IF_ERROR(CheckScale(input.scale, "int16 " + op + " input"));
  if (input.zero_point != 0) {
    return InvalidArgumentError("int16 " + op + " input zero point must be 0, got " +
                                std::to_string(input.zero_point));
  }
  return Status::Ok();
}

// q * multiplier rounded onto the table's scale (int64: no overflow for any params
// Prepare accepts; equal to TFLite's int32 arithmetic wherever that does not overflow).
int64_t ToTableScale(const Int16SigmoidParams& p, int16_t q) {
  const int64_t round = p.input_left_shift > 0 ? int64_t{1} << (p.input_left_shift - 1) : 0;
  return (static_cast<int64_t>(q) * p.input_multiplier + round) >> p.input_left_shift;
}

}  // namespace

const std::array<uint16_t, 256>& SigmoidTableUint16() {
  static const std::array<uint16_t, 256> table = BuildSigmoidTable();
  return table;
}

Result<Int16SigmoidParams> PrepareLogisticInt16(quant::QuantParams input,
                                                quant::QuantParams output) {
  LITEQ_RETURN_IF_ERROR(CheckInput(input, "LOGISTIC"));
  // SigmoidPrepare: TF_LITE_ENSURE(output scale == 1. / 32768 && zero point == 0).
  if (static_cast<double>(output.scale) != 1.0 / 32768 || output.zero_point != 0) {
    return InvalidArgumentError("int16 LOGISTIC output must have scale 1/32768 and zero point 0");
  }
  return RescaleParams(input.scale, 0, "LOGISTIC");
}

Result<Int16SigmoidParams> PrepareTanhInt16(quant::QuantParams input, quant::QuantParams output) {
  LITEQ_RETURN_IF_ERROR(CheckInput(input, "TANH"));
  LITEQ_RETURN_IF_ERROR(CheckScale(output.scale, "int16 TANH output"));
  int log2_out = 0;
  // TanhPrepare: zero point 0 and CheckedLog2(output scale) == -15.
  if (output.zero_point != 0 || !CheckedLog2(output.scale, &log2_out) || log2_out != -15) {
    return InvalidArgumentError("int16 TANH output must have scale 1/32768 and zero point 0");
  }
  return RescaleParams(input.scale, 1, "TANH");
}

void LogisticInt16(const Int16SigmoidParams& params, std::span<const int16_t> input,
                   std::span<int16_t> output) {
  if (params.input_multiplier == 0) {
    for (size_t i = 0; i < input.size(); ++i) output[i] = FixedPointLogisticQ3(input[i]);
    return;
  }
  const std::array<uint16_t, 256>& table = SigmoidTableUint16();
  for (size_t i = 0; i < input.size(); ++i) {
    const int64_t x = ToTableScale(params, input[i]);
    const uint64_t magnitude = static_cast<uint64_t>(x < 0 ? -x : x);
    // 9 fraction bits below the table index (the table steps by 1/24 = 512 / 12288).
    const uint64_t index = magnitude >> 9;
    uint32_t value;  // sigmoid(|x|) in 0.25 fixed point
    if (index >= 255) {
      value = 0x7FFFu << 10;
    } else {
      const uint32_t lo = table[index];
      const uint32_t hi = table[index + 1];
      const auto fraction = static_cast<uint32_t>(magnitude & 0x1FF);
      value = (lo << 9) + fraction * (hi - lo);
    }
    // sigmoid(-x) = 1 - sigmoid(x); the constants round to 0.15 (half up for x >= 0,
    // the mirrored rounding for x < 0).
    value = x >= 0 ? value + (1u << 9) : (1u << 25) - value + (1u << 9) - 1;
    output[i] = static_cast<int16_t>(value >> 10);
  }
}

void TanhInt16(const Int16SigmoidParams& params, std::span<const int16_t> input,
               std::span<int16_t> output) {
  if (params.input_multiplier == 0) {
    for (size_t i = 0; i < input.size(); ++i) {
      const int16_t q = input[i];
      output[i] = FixedPointTanhQ3(params.input_left_shift == 1 ? SaturatingDoubleInt16(q) : q);
    }
    return;
  }
  const std::array<uint16_t, 256>& table = SigmoidTableUint16();
  for (size_t i = 0; i < input.size(); ++i) {
    const int64_t x = ToTableScale(params, input[i]);
    const uint64_t magnitude = static_cast<uint64_t>(x < 0 ? -x : x);
    // 8 fraction bits: tanh(x) reads sigmoid at 2x.
    const uint64_t index = magnitude >> 8;
    int32_t value;  // sigmoid(2|x|) in 0.24 fixed point
    if (index >= 255) {
      value = 0xFFFF << 8;
    } else {
      const uint32_t lo = table[index];
      const uint32_t hi = table[index + 1];
      const auto fraction = static_cast<uint32_t>(magnitude & 0xFF);
      value = static_cast<int32_t>((lo << 8) + fraction * (hi - lo));
    }
    // tanh(x) = 2 sigmoid(2x) - 1: subtract one half (2^23), round, and mirror for x < 0.
    value = x >= 0 ? value - (1 << 23) + (1 << 7) : -value + (1 << 23) + (1 << 7) - 1;
    output[i] = static_cast<int16_t>(value >> 8);  // arithmetic shift, as TFLite
  }
}

}  // namespace liteq::runtime::quantized
