// Element conversion of stored tensor bytes (little-endian, possibly unaligned inside
// the mapped file) to fp32 / int32.
#ifndef LITEQ_IO_DTYPE_CONVERT_H_
#define LITEQ_IO_DTYPE_CONVERT_H_

#include <cstdint>
#include <span>

#include "io/checkpoint.h"
#include "liteq/status.h"

namespace liteq::io {

// Converts `bytes` (elements of `dtype`) to fp32. The caller guarantees
// bytes.size() == out.size() * WeightDTypeSize(dtype).
void ConvertToFloat32(WeightDType dtype, std::span<const uint8_t> bytes, std::span<float> out);

// Converts I32/I64 elements to int32. Returns the index of the first I64 value that
// does not fit in int32, or -1 if all fit. Same size precondition as above.
int64_t ConvertToInt32(WeightDType dtype, std::span<const uint8_t> bytes, std::span<int32_t> out);

}  // namespace liteq::io

#endif  // LITEQ_IO_DTYPE_CONVERT_H_
