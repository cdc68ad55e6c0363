#include "runtime/kernels/quantized/kn_dots.h"

#include <algorithm>

#include "runtime/kernels/quantized/int8_dot.h"

namespace liteq::runtime::quantized {

void KnDotsPortable(const int8_t* a, const int8_t* b, size_t depth, size_t ldb, size_t count,
                    int32_t* dots) {
  auto* acc = reinterpret_cast<uint32_t*>(dots);
  std::fill(acc, acc + count, 0u);
  for (size_t k = 0; k < depth; ++k) {
    const int32_t av = a[k];
    const int8_t* row = b + k * ldb;
    // |av * b| <= 2^14: an exact int32 product; the sum wraps in uint32 (no UB).
    for (size_t i = 0; i < count; ++i) acc[i] += static_cast<uint32_t>(av * int32_t{row[i]});
  }
}

KnDotsFn BestKnDots() { return Int8DotsAvx2Supported() ? &KnDotsAvx2 : &KnDotsPortable; }

}  // namespace liteq::runtime::quantized
