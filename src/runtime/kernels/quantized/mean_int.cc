#include "runtime/kernels/quantized/mean_int.h"

#include <algorithm>
#include <bit>

namespace liteq::runtime::quantized {

Result<MeanInt8Params> PrepareMeanInt8(quant::QuantParams input,
                                       std::span<const int64_t> input_shape,
                                       std::span<const int32_t> axes, quant::QuantParams output) {
  LITEQ_RETURN_IF_ERROR(CheckScale(input.scale, "MEAN input"));
  LITEQ_RETURN_IF_ERROR(CheckScale(output.scale, "MEAN output"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(input.zero_point, -128, 127, "MEAN input"));
  LITEQ_RETURN_IF_ERROR(CheckZeroPoint(output.zero_point, -128, 127, "MEAN output"));
  MeanInt8Params p;
  p.input_shape.assign(input_shape.begin(), input_shape.end());
  p.reduced.assign(input_shape.size(), false);
  const auto rank = static_cast<int32_t>(input_shape.size());
  for (int32_t axis : axes) {
    const int32_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
      return InvalidArgumentError("MEAN axis " + std::to_string(axis) + " is outside rank " +
                                  std::to_string(rank));
    }
    p.reduced[static_cast<size_t>(a)] = true;
  }
  for (size_t d = 0; d < input_shape.size(); ++d) {
    if (input_shape[d] < 0) return InvalidArgumentError("MEAN input has a negative dimension");
    (p.reduced[d] ? p.reduced_count : p.output_size) *= input_shape[d];
  }
  // 2^23 int8 values keep the int32 sum exact.
  if (p.reduced_count > (int64_t{1} << 23)) {
    return InvalidArgumentError("MEAN reduces too many elements for an int32 sum");
  }
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;
  const double real = static_cast<double>(input.scale) / static_cast<double>(output.scale);
  LITEQ_ASSIGN_OR_RETURN(quant::QuantizedMultiplier m, PrepareMultiplier(real, 30, "MEAN"));
  const int64_t n = p.reduced_count;
  if (n > 0) {
    // Fold 1/n into the multiplier without overflowing int64 or shifting past -31.
    int shift = 63 - std::countl_zero(static_cast<uint64_t>(n));
    shift = std::min(shift, 32);
    shift = std::min(shift, 31 + m.shift);
    m.multiplier = static_cast<int32_t>((static_cast<int64_t>(m.multiplier) << shift) / n);
    m.shift -= shift;
  }
  p.multiplier = m;
  return p;
}

void MeanInt8(const MeanInt8Params& p, std::span<const int8_t> input, std::span<int8_t> output) {
  LITEQ_CHECK(output.size() == static_cast<size_t>(p.output_size));
  LITEQ_CHECK(input.size() == static_cast<size_t>(p.output_size * p.reduced_count));
  if (p.reduced_count == 0) return;  // TFLite leaves the output untouched
  std::vector<int64_t> sums(static_cast<size_t>(p.output_size), 0);
  const size_t rank = p.input_shape.size();
  std::vector<int64_t> counter(rank, 0);
  for (size_t i = 0; i < input.size(); ++i) {
    int64_t out = 0;
    for (size_t d = 0; d < rank; ++d) {
      if (!p.reduced[d]) out = out * p.input_shape[d] + counter[d];
    }
    sums[static_cast<size_t>(out)] += input[i];
    for (size_t d = rank; d-- > 0;) {
      if (++counter[d] < p.input_shape[d]) break;
      counter[d] = 0;
    }
  }
  for (size_t o = 0; o < sums.size(); ++o) {
    const auto centered =
        static_cast<int32_t>(sums[o] - static_cast<int64_t>(p.input_zero_point) * p.reduced_count);
    const int32_t q = ApplyMultiplier(centered, p.multiplier) + p.output_zero_point;
    output[o] = static_cast<int8_t>(std::clamp(q, -128, 127));
  }
}

}  // namespace liteq::runtime::quantized
