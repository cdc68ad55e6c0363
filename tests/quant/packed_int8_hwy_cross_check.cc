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
#include "runtime/kernels/quantized/packed_int8.h"

namespace liteq::runtime::quantized {
namespace {

std::vector<int8_t> RandomInt8(size_t n, std::mt19937& rng, int lo, int hi) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(dist(rng));
  return v;
}

// The kernel's int16 lanes per vector (HWY_ATTR: Highway ops need the target's attributes).
HWY_ATTR size_t KernelLanes() {
  return hwy::HWY_NAMESPACE::Lanes(hwy::HWY_NAMESPACE::CappedTag<int16_t, kPackedDepth>());
}

// Whether Hwy and Portable agree on one range; the 3 columns past it stay untouched.
bool SameDots(const PackedInt8Weights& w, const std::vector<int8_t>& x, size_t ldx, size_t batches,
              size_t begin, size_t end) {
  constexpr int32_t kSentinel = -777777;
  const size_t ld_dots = (end - begin) * kPackedRows + 3;
  std::vector<int32_t> got(batches * ld_dots, kSentinel), want(batches * ld_dots, kSentinel);
  PackedInt8DotsHwy(w, x.data(), ldx, batches, begin, end, got.data(), ld_dots);
  PackedInt8DotsPortable(w, x.data(), ldx, batches, begin, end, want.data(), ld_dots);
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      std::printf("FAIL: %zux%zux%zu range [%zu, %zu) b %zu col %zu: %d, want %d\n", batches,
                  w.depth(), w.rows(), begin, end, i / ld_dots, i % ld_dots, got[i], want[i]);
      return false;
    }
  }
  return true;
}

int Run() {
  size_t checked = 0;
  std::mt19937 rng(21);
  for (size_t batches : {1, 2, 3, 4, 5, 6, 7, 64, 67}) {
    for (size_t depth : {1, 7, 31, 32, 33, 64, 95, 583}) {
      for (size_t rows : {1, 4, 5, 13, 37}) {
        for (int w_lo : {-127, -128}) {
          const size_t ldx = depth + 5;
          auto x = RandomInt8(batches * ldx, rng, -128, 127);
          for (size_t i = 0; i < x.size(); i += 7) x[i] = -128;
          auto w = RandomInt8(rows * depth, rng, w_lo, 127);
          for (size_t i = 0; i < w.size(); i += 11) w[i] = static_cast<int8_t>(i % 2 ? 127 : w_lo);
          const auto packed = PackedInt8Weights::Pack(w, rows, depth);
          const size_t blocks = packed->row_blocks();
          for (auto [begin, end] : {std::pair<size_t, size_t>{0, blocks},
                                    {blocks / 2, blocks},
                                    {blocks - 1, blocks},
                                    {blocks / 2, blocks / 2 + 1}}) {
            if (!SameDots(*packed, x, ldx, batches, begin, end)) return 1;
            ++checked;
          }
        }
      }
    }
  }
  // The extremes: all -128, all 127, and int16 pair sums of 2^15.
  for (int pattern = 0; pattern < 3; ++pattern) {
    for (size_t batches : {1, 2, 3}) {
      const size_t depth = 1000, rows = 6;
      std::vector<int8_t> x(batches * depth), w(rows * depth);
      for (size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<int8_t>(pattern == 1 ? 127 : pattern == 0 || i % 4 < 2 ? -128 : 127);
      }
      for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(pattern == 1 ? 127 : -128);
      const auto packed = PackedInt8Weights::Pack(w, rows, depth);
      if (!SameDots(*packed, x, depth, batches, 0, packed->row_blocks())) return 1;
      ++checked;
    }
  }
  // 140000 products of 2^14 pass 2^31: the sums wrap.
  {
    const size_t depth = 140000, rows = 4;
    const std::vector<int8_t> x(2 * depth, -128), w(rows * depth, -128);
    const auto packed = PackedInt8Weights::Pack(w, rows, depth);
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
