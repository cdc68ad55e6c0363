// MEAN over int8 tensors (TFLite reduce.cc with the optimized kernel,
// optimized_ops::QuantizedMeanOrSum — the path the builtin runtime takes):
//   m, shift = QuantizeMultiplier(double(s_in) / double(s_out))
//   k = min(floor(log2 n), 32, 31 + shift);  m' = (m << k) / n;  shift' = shift - k
//   out = clamp(ApplyMultiplier(sum(q) - zp_in * n, m', shift') + zp_out)
// where n is the number of reduced elements. (reference_ops::QuantizedMeanOrSum,
// used by the kReference kernel, does the division in float instead.)
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_MEAN_INT_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_MEAN_INT_H_

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/kernels/quantized/quantized_common.h"

namespace liteq::runtime::quantized {

struct MeanInt8Params {
  std::vector<int64_t> input_shape;
  std::vector<bool> reduced;  // per input dimension
  int64_t reduced_count = 1;  // n
  int64_t output_size = 1;
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  quant::QuantizedMultiplier multiplier;  // already divided by n
};

// axes may be negative (counted from the end) and repeat; InvalidArgument when an
// axis is out of range.
Result<MeanInt8Params> PrepareMeanInt8(quant::QuantParams input,
                                       std::span<const int64_t> input_shape,
                                       std::span<const int32_t> axes, quant::QuantParams output);
// output has output_size elements in the row-major order of the kept dimensions.
void MeanInt8(const MeanInt8Params& params, std::span<const int8_t> input,
              std::span<int8_t> output);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_MEAN_INT_H_
