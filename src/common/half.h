// IEEE fp16 and bfloat16 <-> fp32 conversions (exact widening; round-to-nearest-even
// narrowing), used by checkpoint readers and fp16 weights.
#ifndef LITEQ_COMMON_HALF_H_
#define LITEQ_COMMON_HALF_H_

#include <cstdint>
#include <cstring>

namespace liteq {

inline float Bf16ToFloat(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t FloatToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // NaN
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

float Fp16ToFloat(uint16_t h);
uint16_t FloatToFp16(float f);

}  // namespace liteq

#endif  // LITEQ_COMMON_HALF_H_
