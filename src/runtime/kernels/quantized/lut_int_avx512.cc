// The int8 table lookup (LOGISTIC, TANH, GELU, RSQRT: lut_int.h) with AVX-512 VBMI:
// vpermi2b looks 64 bytes up in a 128-entry table held in two registers, so the
// 256-entry table is two lookups (entries 0-127 and 128-255, by the index's low 7
// bits) and a blend on the index's top bit. Same bytes as the portable loop (a pure
// table lookup). Compiled for generic x86-64: called only after LutAvx512VbmiSupported().
#include "runtime/kernels/quantized/lut_int.h"

#if defined(__x86_64__) || defined(__i386__)
#include "runtime/kernels/quantized/avx512_intrinsics.h"

namespace liteq::runtime::quantized {

#define LITEQ_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

bool LutAvx512VbmiSupported() {
  static const bool supported = __builtin_cpu_supports("avx512f") != 0 &&
                                __builtin_cpu_supports("avx512bw") != 0 &&
                                __builtin_cpu_supports("avx512vbmi") != 0;
  return supported;
}

LITEQ_VBMI void ApplyInt8LutAvx512Vbmi(const Int8Lut& lut, const int8_t* input, int8_t* output,
                                       size_t n) {
  const __m512i t0 = Load64(lut.data()), t1 = Load64(lut.data() + 64);
  const __m512i t2 = Load64(lut.data() + 128), t3 = Load64(lut.data() + 192);
  for (size_t i = 0; i < n; i += 64) {
    const __mmask64 mask = n - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (n - i)) - 1;
    const __m512i index = _mm512_maskz_loadu_epi8(mask, input + i);
    const __m512i low = _mm512_permutex2var_epi8(t0, index, t1);   // entries 0-127
    const __m512i high = _mm512_permutex2var_epi8(t2, index, t3);  // entries 128-255
    const __m512i value = _mm512_mask_blend_epi8(_mm512_movepi8_mask(index), low, high);
    _mm512_mask_storeu_epi8(output + i, mask, value);
  }
}

#undef LITEQ_VBMI

}  // namespace liteq::runtime::quantized

#else  // not x86: never selected.

namespace liteq::runtime::quantized {
bool LutAvx512VbmiSupported() { return false; }
void ApplyInt8LutAvx512Vbmi(const Int8Lut& lut, const int8_t* input, int8_t* output, size_t n) {
  ApplyInt8LutPortable(lut, {input, n}, {output, n});
}
}  // namespace liteq::runtime::quantized

#endif
