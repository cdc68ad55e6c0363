#include "io/dtype_convert.h"

#include <bit>
#include <cstring>
#include <limits>

#include "common/half.h"
#include "liteq/status.h"

namespace liteq::io {
namespace {

// safetensors and llama2.c store little-endian values; the readers memcpy them as is.
static_assert(std::endian::native == std::endian::little, "liteq assumes a little-endian host");

template <typename T>
T LoadUnaligned(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

void ConvertToFloat32(WeightDType dtype, std::span<const uint8_t> bytes, std::span<float> out) {
  LITEQ_CHECK(bytes.size() == out.size() * WeightDTypeSize(dtype));
  const uint8_t* p = bytes.data();
  const size_t n = out.size();
  switch (dtype) {
    case WeightDType::kF32:
      if (n > 0) std::memcpy(out.data(), p, n * sizeof(float));
      return;
    case WeightDType::kF16:
      for (size_t i = 0; i < n; ++i) out[i] = Fp16ToFloat(LoadUnaligned<uint16_t>(p + 2 * i));
      return;
    case WeightDType::kBF16:
      for (size_t i = 0; i < n; ++i) out[i] = Bf16ToFloat(LoadUnaligned<uint16_t>(p + 2 * i));
      return;
    case WeightDType::kI32:
      for (size_t i = 0; i < n; ++i) {
        out[i] = static_cast<float>(LoadUnaligned<int32_t>(p + 4 * i));
      }
      return;
    case WeightDType::kI64:
      for (size_t i = 0; i < n; ++i) {
        out[i] = static_cast<float>(LoadUnaligned<int64_t>(p + 8 * i));
      }
      return;
    case WeightDType::kI8:
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<int8_t>(p[i]));
      return;
    case WeightDType::kU8:
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(p[i]);
      return;
    case WeightDType::kBool:
      for (size_t i = 0; i < n; ++i) out[i] = p[i] != 0 ? 1.0f : 0.0f;
      return;
  }
  LITEQ_CHECK(false);
}

int64_t ConvertToInt32(WeightDType dtype, std::span<const uint8_t> bytes, std::span<int32_t> out) {
  LITEQ_CHECK(bytes.size() == out.size() * WeightDTypeSize(dtype));
  const uint8_t* p = bytes.data();
  const size_t n = out.size();
  if (dtype == WeightDType::kI32) {
    if (n > 0) std::memcpy(out.data(), p, n * sizeof(int32_t));
    return -1;
  }
  LITEQ_CHECK(dtype == WeightDType::kI64);
  for (size_t i = 0; i < n; ++i) {
    const int64_t v = LoadUnaligned<int64_t>(p + 8 * i);
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
      return static_cast<int64_t>(i);
    }
    out[i] = static_cast<int32_t>(v);
  }
  return -1;
}

}  // namespace liteq::io
