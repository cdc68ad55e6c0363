// A standalone check (no GoogleTest, no libhwy: built with HWY_COMPILE_ONLY_STATIC so
// the one Highway target of the compiler flags is called directly) that
// PackedInt8DotsHwy equals PackedInt8DotsPortable bit for bit, for cross-compiled
// targets run under an emulator: hwy_aarch64_test.sh builds it for NEON, SVE
// and SVE2 and runs it with qemu-aarch64 at several SVE vector lengths. The cases
// mirror packed_int8_hwy_test.cc (which checks the x86 targets): random shapes on the
// loop edges with block subranges and strides, the int8 extremes, and sums that wrap
// modulo 2^32. Prints the target and the number of ranges checked; exits 1 on the
// first difference.
#include <cstdint>
#include <cstdio>
#include <random>
#include <utility>
#include <vector>

#include "hwy/highway.h"
#include "packed_int8_cases.h"  // (this directory)
#include "runtime/kernels/quantized/packed_int8.h"

namespace liteq::runtime::quantized {
namespace {

// The kernel's int16 lanes per vector (HWY_ATTR: Highway ops need the target's attributes).
HWY_ATTR size_t KernelLanes() {
  return hwy::HWY_NAMESPACE::Lanes(hwy::HWY_NAMESPACE::CappedTag<int16_t, kPackedDepth>());
}

// Whether Hwy and Portable agree on one range (prints the first difference).
bool SameDots(const PackedInt8Weights& w, const std::vector<int8_t>& x, size_t ldx, size_t batches,
              size_t begin, size_t end) {
  const std::string difference =
      FirstDifferenceFromPortable(&PackedInt8DotsHwy, w, x, ldx, batches, begin, end);
  if (!difference.empty()) std::printf("FAIL: %s\n", difference.c_str());
  return difference.empty();
}

int Run() {
  size_t checked = 0;
  bool same = true;
  ForEachLoopEdgeCase(21, {1, 2, 3, 4, 5, 6, 7, 64, 67}, {1, 7, 31, 32, 33, 64, 95, 583},
                      {1, 4, 5, 13, 37}, [&](const PackedDotsCase& c, size_t begin, size_t end) {
                        if (same) same = SameDots(*c.packed, c.x, c.ldx, c.batches, begin, end);
                        ++checked;
                      });
  if (!same) return 1;
  // The extremes: all -128, all 127, and int16 pair sums of 2^15.
  for (int pattern = 0; pattern < 3; ++pattern) {
    for (size_t batches : {1, 2, 3}) {
      const size_t depth = 1000, rows = 6;
      std::vector<int8_t> x(batches * depth), w(rows * depth);
      for (size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<int8_t>(pattern == 1 ? 127 : pattern == 0 || i % 4 < 2 ? -128 : 127);
      }
      for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(pattern == 1 ? 127 : -128);
      const auto packed =
          PackedInt8Weights::Pack(w, rows, depth, false, PackedInt8Layout::kRows4x32);
      if (!SameDots(*packed, x, depth, batches, 0, packed->row_blocks())) return 1;
      ++checked;
    }
  }
  // 140000 products of 2^14 pass 2^31: the sums wrap.
  {
    const size_t depth = 140000, rows = 4;
    const std::vector<int8_t> x(2 * depth, -128), w(rows * depth, -128);
    const auto packed = PackedInt8Weights::Pack(w, rows, depth, false, PackedInt8Layout::kRows4x32);
    for (size_t batches : {1, 2}) {
      if (!SameDots(*packed, x, depth, batches, 0, 1)) return 1;
      ++checked;
    }
  }
  const int64_t target = PackedInt8DotsHwyTarget();
  std::printf("PASS: %zu ranges on %s (%zu int16 lanes)\n", checked, hwy::TargetName(target),
              KernelLanes());
  if (target != HWY_STATIC_TARGET) {
    std::printf("FAIL: ran %s, built for %s\n", hwy::TargetName(target),
                hwy::TargetName(HWY_STATIC_TARGET));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace liteq::runtime::quantized

int main() { return liteq::runtime::quantized::Run(); }
