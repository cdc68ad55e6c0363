// What the AVX-512 kernel files share (packed_int8_avx512.cc, attention_vnni.cc,
// requantize_rows_avx512.cc, ...): the intrinsics, the function attributes of the
// runtime dispatch (the library is built for generic x86-64; these functions run only
// after the CPU was checked), the unaligned 64-byte load and vpdpbusd. Include it only from those
// translation units, on x86.
//
// GCC 12's AVX-512 headers start some intrinsics (_mm512_broadcast_i64x4,
// _mm512_extracti64x4_epi64, _mm512_cvtepi32_ps, ...) from _mm512_undefined_*(), which
// -Wuninitialized then reports at every call (GCC bug 105593, fixed in GCC 13): the
// warning is silenced for the rest of the including file.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_AVX512_INTRINSICS_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_AVX512_INTRINSICS_H_

#if defined(__x86_64__) || defined(__i386__)

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#define LITEQ_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define LITEQ_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

namespace liteq::runtime::quantized {

LITEQ_AVX512 inline __m512i Load64(const int8_t* p) {
  __m512i v;
  std::memcpy(&v, p, sizeof(v));  // unaligned load without aliasing UB
  return v;
}

// acc += the 4-byte dots of u (unsigned) and w (signed) per int32 lane: vpdpbusd, as
// inline asm because GCC 12 wraps _mm512_dpbusd_epi32 in multiply-accumulate loops
// with register copies or keeps the accumulators on the stack (the int8 GEMM tile ran
// at 40-60% of its speed, the attention's probs x V loop loaded and stored every
// accumulator).
LITEQ_VNNI inline void DotAccumulate(__m512i& acc, __m512i u, __m512i w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(w));
}

}  // namespace liteq::runtime::quantized

#endif  // x86
#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_AVX512_INTRINSICS_H_
