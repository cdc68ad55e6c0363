// Portable int8 dot products and the run-time choice of implementation.
#include "runtime/kernels/quantized/int8_dot.h"

namespace liteq::runtime::quantized {

void Int8DotsPortable(const Int8DotArgs& args, size_t b_begin, size_t b_end, size_t r_begin,
                      size_t r_end) {
  for (size_t b = b_begin; b < b_end; ++b) {
    const int8_t* x = args.x + b * args.ldx;
    for (size_t r = r_begin; r < r_end; ++r) {
      const int8_t* w = args.w + r * args.ldw;
      // Each product fits in int32; the sum wraps modulo 2^32 like the SIMD lanes.
      uint32_t sum = 0;
      for (size_t d = 0; d < args.depth; ++d) {
        sum += static_cast<uint32_t>(static_cast<int32_t>(x[d]) * static_cast<int32_t>(w[d]));
      }
      args.dots[b * args.ld_dots + r] = static_cast<int32_t>(sum);
    }
  }
}

bool Int8DotsAvx2Supported() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool supported = __builtin_cpu_supports("avx2") != 0;
  return supported;
#else
  return false;
#endif
}

Int8DotsFn BestInt8Dots() { return Int8DotsAvx2Supported() ? &Int8DotsAvx2 : &Int8DotsPortable; }

}  // namespace liteq::runtime::quantized
