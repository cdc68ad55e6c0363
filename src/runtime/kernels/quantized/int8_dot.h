// The int8 x int8 -> int32 dot-product core of the fast int8 BATCH_MATMUL (both
// operands are activations there, so nothing can be packed ahead of time; the
// FULLY_CONNECTED kernels use packed constant weights instead, packed_int8.h): for a
// block of activation rows (batches) and a block of weight rows (output channels),
// the raw products
//   dots[b, r] = sum_d x[b, d] * w[r, d]
// in int32 arithmetic that wraps modulo 2^32 (no UB: the SIMD adds wrap, the scalar
// code sums in uint32). The zero points, bias and requantization are the callers'
// epilogues (fully_connected_fast.h); since the reference kernels also reduce their
// accumulators modulo 2^32, the folded form sum(x*w) + offset*sum(w) + bias gives the
// same int32 for every depth.
//
// Layout: no repacking. Both operands are row-major [rows, depth] (the "NT" layout:
// each output is the dot product of two contiguous rows). The AVX2 path sign-extends
// 16 int8 values to int16 and uses _mm256_madd_epi16 (exact: |a*b + c*d| <= 2 * 128 *
// 128 = 2^15 fits in int32); _mm256_maddubs_epi16 would saturate for int8 x int8.
//
// Dispatch: Int8Dots picks the AVX2 code when the CPU has it (checked once with
// __builtin_cpu_supports) and the portable code otherwise; both are exposed so tests
// check each against the scalar reference.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_INT8_DOT_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_INT8_DOT_H_

#include <cstddef>
#include <cstdint>

namespace liteq::runtime::quantized {

struct Int8DotArgs {
  const int8_t* x = nullptr;  // activations [batches, ldx]
  size_t ldx = 0;
  const int8_t* w = nullptr;  // weights [rows, ldw]
  size_t ldw = 0;
  size_t depth = 0;
  int32_t* dots = nullptr;  // out [batches, ld_dots], entry (b, r) at b * ld_dots + r
  size_t ld_dots = 0;
};

// Computes dots[b, r] for b in [b_begin, b_end), r in [r_begin, r_end) (indices into
// x, w and dots as given).
using Int8DotsFn = void (*)(const Int8DotArgs& args, size_t b_begin, size_t b_end, size_t r_begin,
                            size_t r_end);

void Int8DotsPortable(const Int8DotArgs& args, size_t b_begin, size_t b_end, size_t r_begin,
                      size_t r_end);
// Only callable when Int8DotsAvx2Supported(); on a non-x86 build it is the portable code.
void Int8DotsAvx2(const Int8DotArgs& args, size_t b_begin, size_t b_end, size_t r_begin,
                  size_t r_end);
bool Int8DotsAvx2Supported();

// The best implementation for this CPU (chosen once).
Int8DotsFn BestInt8Dots();

// Calls epilogue(b, r0, count, dots) with dots[i] = the dot of activation row b and
// weight row r0 + i, i < count, covering every activation row b in [0, batches) and
// weight row r in [r_begin, r_end) of x [batches, depth] and w [rows, depth] (both
// dense) once, in blocks whose dots go through a stack buffer (a row of dots at a
// time, so the epilogue can requantize them with SIMD). Weight rows are the outer loop so
// the weights stream from memory once; a 16-row block stays in cache while up to 64
// activation rows pass over it.
template <typename Epilogue>
void BlockedInt8Dots(const int8_t* x, size_t batches, const int8_t* w, size_t depth, size_t r_begin,
                     size_t r_end, Int8DotsFn dots, Epilogue&& epilogue) {
  constexpr size_t kRowBlock = 16;
  constexpr size_t kBatchBlock = 64;
  int32_t buffer[kRowBlock * kBatchBlock];
  for (size_t r0 = r_begin; r0 < r_end; r0 += kRowBlock) {
    const size_t rows = r_end - r0 < kRowBlock ? r_end - r0 : kRowBlock;
    for (size_t b0 = 0; b0 < batches; b0 += kBatchBlock) {
      const size_t nb = batches - b0 < kBatchBlock ? batches - b0 : kBatchBlock;
      Int8DotArgs args;
      args.x = x + b0 * depth;
      args.ldx = depth;
      args.w = w + r0 * depth;
      args.ldw = depth;
      args.depth = depth;
      args.dots = buffer;
      args.ld_dots = kRowBlock;
      dots(args, 0, nb, 0, rows);
      for (size_t b = 0; b < nb; ++b) epilogue(b0 + b, r0, rows, buffer + b * kRowBlock);
    }
  }
}

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_INT8_DOT_H_
