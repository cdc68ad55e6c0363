#include "runtime/kernels/quantized/elementwise_int.h"

#include <algorithm>

namespace liteq::runtime::quantized {
namespace {

struct Limits {
  int32_t min;
  int32_t max;
};

Limits LimitsOf(IntType type) {
  return type == IntType::kInt8 ? Limits{-128, 127} : Limits{-32768, 32767};
}

Status CheckOperands(IntType type, const char* op, quant::QuantParams input1,
                     quant::QuantParams input2, quant::QuantParams output) {
  const Limits l = LimitsOf(type);
  const std::string name(op);
  LITEQ_RETURN_IF_ERROR(CheckScale(input1.scale, name + " input 1"));
  LITEQ_RETURN_IF_ERROR(CheckScale(input2.scale, name + " input 2"));
  LITEQ_RETURN_IF_ERROR(CheckScale(output.scale, name + " output"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(input1.zero_point, l.min, l.max, name + " input 1"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(input2.zero_point, l.min, l.max, name + " input 2"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(output.zero_point, l.min, l.max, name + " output"));
  if (type == IntType::kInt16 &&
      (input1.zero_point != 0 || input2.zero_point != 0 || output.zero_point != 0)) {
    return InvalidArgumentError(name + ": int16 operands must have zero point 0");
  }
  return Status::Ok();
}

Result<quant::QuantizedMultiplier> SmallerThanOne(double real, const std::string& what) {
  if (!(real > 0.0 && real < 1.0)) {
    return InvalidArgumentError(what + ": rescale factor " + std::to_string(real) +
                                " must be in (0, 1)");
  }
  return PrepareMultiplier(real, 0, what);
}

template <typename T>
void AddSub(const AddSubParams& p, const BroadcastPlan& plan, std::span<const T> input1,
            std::span<const T> input2, std::span<T> output) {
  LITEQ_CHECK(input1.size() == static_cast<size_t>(plan.input1_size));
  LITEQ_CHECK(input2.size() == static_cast<size_t>(plan.input2_size));
  LITEQ_CHECK(output.size() == static_cast<size_t>(plan.output_size));
  ForEachBroadcastIndex(plan, [&](int64_t i1, int64_t i2, int64_t o) {
    output[static_cast<size_t>(o)] = static_cast<T>(
        AddSubElement(p, input1[static_cast<size_t>(i1)], input2[static_cast<size_t>(i2)]));
  });
}

template <typename T>
void Mul(const MulParams& p, const BroadcastPlan& plan, std::span<const T> input1,
         std::span<const T> input2, std::span<T> output) {
  LITEQ_CHECK(input1.size() == static_cast<size_t>(plan.input1_size));
  LITEQ_CHECK(input2.size() == static_cast<size_t>(plan.input2_size));
  LITEQ_CHECK(output.size() == static_cast<size_t>(plan.output_size));
  ForEachBroadcastIndex(plan, [&](int64_t i1, int64_t i2, int64_t o) {
    output[static_cast<size_t>(o)] = static_cast<T>(
        MulElement(p, input1[static_cast<size_t>(i1)], input2[static_cast<size_t>(i2)]));
  });
}

}  // namespace

Result<AddSubParams> PrepareAddSub(IntType type, quant::QuantParams input1,
                                   quant::QuantParams input2, quant::QuantParams output,
                                   FusedActivation activation, bool subtract) {
  const char* op = subtract ? "SUB" : "ADD";
  LITEQ_RETURN_IF_ERROR(CheckOperands(type, op, input1, input2, output));
  AddSubParams p;
  p.subtract = subtract;
  p.input1_offset = -input1.zero_point;
  p.input2_offset = -input2.zero_point;
  p.output_offset = output.zero_point;
  // 255 << 20 and 65535 << 15 both leave the sum of two operands inside int32.
  p.left_shift = type == IntType::kInt8 ? 20 : 15;
  p.single_rounding = type == IntType::kInt8;
  // As TFLite: the max and the doubling happen in float, the divisions in double,
  // and (1 << left_shift) * output_scale is a float product.
  const double twice_max = 2.0f * std::max(input1.scale, input2.scale);
  const double denominator = static_cast<float>(1 << p.left_shift) * output.scale;
  const std::string name(op);
  LITEQ_ASSIGN_OR_RETURN(p.input1, SmallerThanOne(input1.scale / twice_max, name + " input 1"));
  LITEQ_ASSIGN_OR_RETURN(p.input2, SmallerThanOne(input2.scale / twice_max, name + " input 2"));
  LITEQ_ASSIGN_OR_RETURN(p.output, SmallerThanOne(twice_max / denominator, name + " output"));
  const Limits l = LimitsOf(type);
  p.activation = QuantizedActivationRange(activation, output, l.min, l.max);
  return p;
}

Result<MulParams> PrepareMul(IntType type, quant::QuantParams input1, quant::QuantParams input2,
                             quant::QuantParams output, FusedActivation activation) {
  LITEQ_RETURN_IF_ERROR(CheckOperands(type, "MUL", input1, input2, output));
  MulParams p;
  p.input1_offset = -input1.zero_point;
  p.input2_offset = -input2.zero_point;
  p.output_offset = output.zero_point;
  const double real = static_cast<double>(input1.scale) * static_cast<double>(input2.scale) /
                      static_cast<double>(output.scale);
  LITEQ_ASSIGN_OR_RETURN(p.output, PrepareMultiplier(real, 30, "MUL output"));
  p.single_rounding = type == IntType::kInt8;
  const Limits l = LimitsOf(type);
  p.activation = QuantizedActivationRange(activation, output, l.min, l.max);
  return p;
}

void AddSubInt8(const AddSubParams& params, const BroadcastPlan& plan,
                std::span<const int8_t> input1, std::span<const int8_t> input2,
                std::span<int8_t> output) {
  AddSub<int8_t>(params, plan, input1, input2, output);
}

void AddSubInt16(const AddSubParams& params, const BroadcastPlan& plan,
                 std::span<const int16_t> input1, std::span<const int16_t> input2,
                 std::span<int16_t> output) {
  AddSub<int16_t>(params, plan, input1, input2, output);
}

void MulInt8(const MulParams& params, const BroadcastPlan& plan, std::span<const int8_t> input1,
             std::span<const int8_t> input2, std::span<int8_t> output) {
  Mul<int8_t>(params, plan, input1, input2, output);
}

void MulInt16(const MulParams& params, const BroadcastPlan& plan, std::span<const int16_t> input1,
              std::span<const int16_t> input2, std::span<int16_t> output) {
  Mul<int16_t>(params, plan, input1, input2, output);
}

}  // namespace liteq::runtime::quantized
