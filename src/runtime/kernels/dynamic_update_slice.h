// DYNAMIC_UPDATE_SLICE reference: out = operand with `update` written at `start`,
// where start[d] is clamped to [0, operand[d] - update[d]] (TFLite/XLA semantics).
// When out == operand (the planner aliased them: the KV-cache update), only the
// update region is written.
#ifndef LITEQ_RUNTIME_KERNELS_DYNAMIC_UPDATE_SLICE_H_
#define LITEQ_RUNTIME_KERNELS_DYNAMIC_UPDATE_SLICE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace liteq::runtime {

// The clamped start of every dim.
std::vector<int64_t> ClampUpdateStart(std::span<const int64_t> start,
                                      std::span<const int32_t> operand,
                                      std::span<const int32_t> update);

// Returns true if it copied the whole operand (out != operand).
bool DynamicUpdateSlice(const void* operand, std::span<const int32_t> operand_shape,
                        const void* update, std::span<const int32_t> update_shape,
                        std::span<const int64_t> clamped_start, size_t element_size, void* out);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_DYNAMIC_UPDATE_SLICE_H_
