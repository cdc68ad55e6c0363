#include "runtime/kernels/quantized/batch_matmul_fast.h"

#include <algorithm>

namespace liteq::runtime::quantized {
namespace {

// dst [cols, rows] = transpose of src [rows, cols].
// In 16 x 16 tiles, so reads and writes both stay within a few cache lines.
void Transpose(const int8_t* src, size_t rows, size_t cols, int8_t* dst) {
  constexpr size_t kTile = 16;
  for (size_t r0 = 0; r0 < rows; r0 += kTile) {
    const size_t r1 = std::min(rows, r0 + kTile);
    for (size_t c0 = 0; c0 < cols; c0 += kTile) {
      const size_t c1 = std::min(cols, c0 + kTile);
      for (size_t c = c0; c < c1; ++c) {
        for (size_t r = r0; r < r1; ++r) dst[c * rows + r] = src[r * cols + c];
      }
    }
  }
}

// sums[r] = sum_d m[r, d] (mod 2^32) as dot products with a row of ones, on the
// dot core.
void WrappingRowSums(const int8_t* m, size_t rows, size_t depth, const int8_t* ones, int32_t* sums,
                     Int8DotsFn dots) {
  Int8DotArgs args;
  args.x = ones;
  args.ldx = depth;
  args.w = m;
  args.ldw = depth;
  args.depth = depth;
  args.dots = sums;
  args.ld_dots = rows;
  dots(args, 0, 1, 0, rows);
}

bool UseDirectRhs(const BatchMatMulInt8Params& p) {
  return !p.adj_y && p.rows <= kBatchMatMulDirectRows;
}

struct Sizes {
  size_t lhs_matrix, rhs_matrix, lhs_n, rhs_n, sums_bytes;
};

Sizes SizesOf(const BatchMatMulInt8Params& p) {
  Sizes s;
  s.lhs_matrix = static_cast<size_t>(p.rows * p.depth);
  s.rhs_matrix = static_cast<size_t>(p.depth * p.cols);
  s.lhs_n = static_cast<size_t>(p.batches.input1_size) * s.lhs_matrix;
  s.rhs_n = static_cast<size_t>(p.batches.input2_size) * s.rhs_matrix;
  s.sums_bytes = sizeof(int32_t) * static_cast<size_t>(p.batches.input1_size * p.rows +
                                                       p.batches.input2_size * p.cols);
  s.sums_bytes += static_cast<size_t>(p.depth);  // the row of ones
  return s;
}

}  // namespace

size_t FastBatchMatMulInt8ScratchBytes(const BatchMatMulInt8Params& p) {
  const Sizes s = SizesOf(p);
  return s.sums_bytes + (p.adj_x ? s.lhs_n : 0) + (p.adj_y || UseDirectRhs(p) ? 0 : s.rhs_n);
}

StagedBatchMatMulInt8 StageBatchMatMulInt8(const BatchMatMulInt8Params& p, const int8_t* lhs,
                                           const int8_t* rhs, uint8_t* scratch, Int8DotsFn dots,
                                           KnDotsFn kn_dots) {
  const Sizes s = SizesOf(p);
  const auto rows = static_cast<size_t>(p.rows);
  const auto cols = static_cast<size_t>(p.cols);
  const auto depth = static_cast<size_t>(p.depth);
  auto* lhs_sums = reinterpret_cast<int32_t*>(scratch);
  int32_t* rhs_sums = lhs_sums + static_cast<size_t>(p.batches.input1_size) * rows;
  int8_t* ones =
      reinterpret_cast<int8_t*>(rhs_sums + static_cast<size_t>(p.batches.input2_size) * cols);
  std::fill(ones, ones + depth, int8_t{1});
  int8_t* copies = reinterpret_cast<int8_t*>(scratch + s.sums_bytes);
  StagedBatchMatMulInt8 staged;
  staged.lhs = lhs;
  staged.rhs = rhs;
  if (p.adj_x) {  // lhs stored [K, M]
    for (int64_t b = 0; b < p.batches.input1_size; ++b) {
      Transpose(lhs + b * s.lhs_matrix, depth, rows, copies + b * s.lhs_matrix);
    }
    staged.lhs = copies;
    copies += s.lhs_n;
  }
  staged.rhs_kn = UseDirectRhs(p);
  if (!p.adj_y && !staged.rhs_kn) {  // rhs stored [K, N]
    for (int64_t b = 0; b < p.batches.input2_size; ++b) {
      Transpose(rhs + b * s.rhs_matrix, depth, cols, copies + b * s.rhs_matrix);
    }
    staged.rhs = copies;
  }
  WrappingRowSums(staged.lhs, static_cast<size_t>(p.batches.input1_size) * rows, depth, ones,
                  lhs_sums, dots);
  if (staged.rhs_kn) {
    for (int64_t b = 0; b < p.batches.input2_size; ++b) {
      kn_dots(ones, rhs + b * s.rhs_matrix, depth, cols, cols, rhs_sums + b * p.cols);
    }
  } else {
    WrappingRowSums(staged.rhs, static_cast<size_t>(p.batches.input2_size) * cols, depth, ones,
                    rhs_sums, dots);
  }
  staged.lhs_sums = lhs_sums;
  staged.rhs_sums = rhs_sums;
  return staged;
}

std::vector<std::array<int64_t, 3>> BatchMatMulBatchIndices(const BatchMatMulInt8Params& p) {
  std::vector<std::array<int64_t, 3>> indices;
  ForEachBroadcastIndex(p.batches, [&](int64_t bl, int64_t br, int64_t bo) {
    indices.push_back({bl, br, bo});
  });
  return indices;
}

void FastBatchMatMulInt8Block(const BatchMatMulInt8Params& p, const StagedBatchMatMulInt8& staged,
                              const std::array<int64_t, 3>& batch, int8_t* output, int64_t n_begin,
                              int64_t n_end, Int8DotsFn dots, BatchMatMulRequantizeFn requantize,
                              KnDotsFn kn_dots) {
  LITEQ_CHECK(n_begin >= 0 && n_begin <= n_end && n_end <= p.cols);
  const auto [bl, br, bo] = batch;
  const auto rows = static_cast<size_t>(p.rows);
  const auto cols = static_cast<size_t>(p.cols);
  const auto depth = static_cast<size_t>(p.depth);
  const int32_t* a_sums = staged.lhs_sums + static_cast<size_t>(bl) * rows;
  const int32_t* b_sums = staged.rhs_sums + static_cast<size_t>(br) * cols;
  int8_t* y = output + static_cast<size_t>(bo) * rows * cols;
  const auto lo = static_cast<uint32_t>(p.lhs_offset);
  const auto ro = static_cast<uint32_t>(p.rhs_offset);
  const uint32_t constant = static_cast<uint32_t>(depth) * lo * ro;
  auto requantize_row = [&](size_t m, size_t n0, size_t count, const int32_t* dot) {
    BatchMatMulRequantizeArgs args;
    args.col_sums = b_sums + n0;
    args.lhs_offset = lo;
    args.row_term = ro * static_cast<uint32_t>(a_sums[m]) + constant;
    args.multiplier = p.multiplier;
    args.output_offset = p.output_offset;
    requantize(args, dot, count, y + m * cols + n0);
  };
  if (staged.rhs_kn) {
    constexpr size_t kColumnBlock = 256;
    int32_t buffer[kColumnBlock];
    const int8_t* a = staged.lhs + static_cast<size_t>(bl) * rows * depth;
    const int8_t* b = staged.rhs + static_cast<size_t>(br) * depth * cols;
    for (size_t n0 = static_cast<size_t>(n_begin); n0 < static_cast<size_t>(n_end);
         n0 += kColumnBlock) {
      const size_t n1 = std::min(static_cast<size_t>(n_end), n0 + kColumnBlock);
      for (size_t m = 0; m < rows; ++m) {
        kn_dots(a + m * depth, b + n0, depth, cols, n1 - n0, buffer);
        requantize_row(m, n0, n1 - n0, buffer);
      }
    }
    return;
  }
  BlockedInt8Dots(staged.lhs + static_cast<size_t>(bl) * rows * depth, rows,
                  staged.rhs + static_cast<size_t>(br) * cols * depth, depth,
                  static_cast<size_t>(n_begin), static_cast<size_t>(n_end), dots, requantize_row);
}

void FastBatchMatMulInt8(const BatchMatMulInt8Params& p, const int8_t* lhs, const int8_t* rhs,
                         int8_t* output, uint8_t* scratch, Int8DotsFn dots,
                         BatchMatMulRequantizeFn requantize, KnDotsFn kn_dots) {
  const StagedBatchMatMulInt8 staged = StageBatchMatMulInt8(p, lhs, rhs, scratch, dots, kn_dots);
  for (const auto& batch : BatchMatMulBatchIndices(p)) {
    FastBatchMatMulInt8Block(p, staged, batch, output, 0, p.cols, dots, requantize, kn_dots);
  }
}

}  // namespace liteq::runtime::quantized
