// Inputs and the comparison shared by the tests of the packed int8 dot kernels
// (AVX2, Highway on every target, and the aarch64 check run under qemu) against the
// scalar reference PackedInt8DotsPortable. No GoogleTest here: the aarch64 checker
// is built without it.
#ifndef LITEQ_TESTS_QUANT_PACKED_INT8_CASES_H_
#define LITEQ_TESTS_QUANT_PACKED_INT8_CASES_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "runtime/kernels/quantized/packed_int8.h"

namespace liteq::runtime::quantized {

inline std::vector<int8_t> RandomInt8(size_t n, std::mt19937& rng, int lo, int hi) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(dist(rng));
  return v;
}

// Activations x [batches, ldx] (ldx = depth + 5: the gap holds values a kernel must
// not use; every 7th value -128) and packed weights [rows, depth] with values in
// [w_lo, 127] (every 11th 127 or w_lo).
struct PackedDotsCase {
  size_t batches = 0, depth = 0, rows = 0, ldx = 0;
  int w_lo = -127;
  std::vector<int8_t> x;
  std::unique_ptr<PackedInt8Weights> packed;  // kRows4x32
  std::unique_ptr<PackedInt8Weights> panels;  // the same weights as kPanels16x4
  std::string Name() const {
    return std::to_string(batches) + "x" + std::to_string(depth) + "x" + std::to_string(rows) +
           " w >= " + std::to_string(w_lo);
  }
};

// Calls check(case, begin, end) for every combination of the batch counts, depths,
// row counts and both weight ranges (with and without -128), on the block ranges
// [0, n), [n/2, n), [n-1, n), [n/2, n/2+1) and the empty [n/2, n/2).
template <typename Check>
void ForEachLoopEdgeCase(uint32_t seed, std::initializer_list<size_t> batch_counts,
                         std::initializer_list<size_t> depths,
                         std::initializer_list<size_t> row_counts, Check&& check) {
  std::mt19937 rng(seed);
  for (size_t batches : batch_counts) {
    for (size_t depth : depths) {
      for (size_t rows : row_counts) {
        for (int w_lo : {-127, -128}) {
          PackedDotsCase c;
          c.batches = batches, c.depth = depth, c.rows = rows, c.w_lo = w_lo, c.ldx = depth + 5;
          c.x = RandomInt8(batches * c.ldx, rng, -128, 127);
          for (size_t i = 0; i < c.x.size(); i += 7) c.x[i] = -128;
          auto w = RandomInt8(rows * depth, rng, w_lo, 127);
          for (size_t i = 0; i < w.size(); i += 11) w[i] = static_cast<int8_t>(i % 2 ? 127 : w_lo);
          c.packed = PackedInt8Weights::Pack(w, rows, depth, false, PackedInt8Layout::kRows4x32);
          c.panels = PackedInt8Weights::Pack(w, rows, depth, false, PackedInt8Layout::kPanels16x4);
          const size_t n = c.packed->row_blocks();
          for (auto [begin, end] : {std::pair<size_t, size_t>{0, n},
                                    {n / 2, n},
                                    {n - 1, n},
                                    {n / 2, n / 2 + 1},
                                    {n / 2, n / 2}}) {
            check(static_cast<const PackedDotsCase&>(c), begin, end);
          }
        }
      }
    }
  }
}

// Runs `got` on got_w and PackedInt8DotsPortable on w (the same weights, kRows4x32)
// for one block range, with x of row stride ldx; dots have 3 columns past the range,
// which must stay untouched. Returns "" when they agree, else the first difference.
inline std::string FirstDifferenceFromPortable(PackedInt8DotsFn got_fn,
                                               const PackedInt8Weights& got_w,
                                               const PackedInt8Weights& w,
                                               const std::vector<int8_t>& x, size_t ldx,
                                               size_t batches, size_t begin, size_t end) {
  constexpr int32_t kSentinel = -777777;
  const size_t ld_dots = (end - begin) * kPackedRows + 3;
  std::vector<int32_t> got(batches * ld_dots, kSentinel), want(batches * ld_dots, kSentinel);
  got_fn(got_w, x.data(), ldx, batches, begin, end, got.data(), ld_dots);
  PackedInt8DotsPortable(w, x.data(), ldx, batches, begin, end, want.data(), ld_dots);
  for (size_t i = 0; i < got.size(); ++i) {
    const bool past_range = i % ld_dots >= (end - begin) * kPackedRows;
    if (got[i] != want[i] || (past_range && got[i] != kSentinel)) {
      return std::to_string(batches) + "x" + std::to_string(w.depth()) + "x" +
             std::to_string(w.rows()) + " range [" + std::to_string(begin) + ", " +
             std::to_string(end) + ") b " + std::to_string(i / ld_dots) + " col " +
             std::to_string(i % ld_dots) + ": " + std::to_string(got[i]) + ", want " +
             std::to_string(want[i]) + (past_range ? " (past the range)" : "");
    }
  }
  return "";
}

// The same for a kernel that reads kRows4x32 weights.
inline std::string FirstDifferenceFromPortable(PackedInt8DotsFn got_fn, const PackedInt8Weights& w,
                                               const std::vector<int8_t>& x, size_t ldx,
                                               size_t batches, size_t begin, size_t end) {
  return FirstDifferenceFromPortable(got_fn, w, w, x, ldx, batches, begin, end);
}

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_TESTS_QUANT_PACKED_INT8_CASES_H_
