// Highway dot products on packed int8 weights (packed_int8.h): the path for every CPU
// without AVX2 (NEON/SVE on ARM, SSE4/SSSE3 on old x86, SCALAR/EMU128 elsewhere).
// This file is compiled once per target instruction set (foreach_target.h re-includes
// it); HWY_DYNAMIC_DISPATCH picks the best one the CPU supports at run time, as in
// matmul_fast.cc.
//
// Exactness for every int8, including -128 on both sides: x and w are sign-extended
// to int16 (PromoteTo) and ReorderWidenMulAccumulate multiplies int16 pairs into int32
// lanes (x86: pmaddwd, a pair sum <= 2 * 128 * 128 = 2^15 fits int32; NEON: smlal/
// smlal2; SVE2: smlalb/smlalt), so there is no saturating shortcut to guard against.
// The int32 lanes wrap modulo 2^32 in hardware, as PackedInt8DotsPortable's sums do.
// The two targets that emulate lanes in C++ do not wrap everywhere: Highway 1.0.3's
// SCALAR ReorderWidenMulAccumulate and EMU128 SumOfLanes add in int32_t (signed
// overflow, UB: UBSan reports the former on the 2^31 sums of the tests), so there the
// products are added with Highway's Add (which wraps) and the lanes summed in uint32_t.
//
// Register tiles: the 4 rows of one packed block x 2 (or the 1 leftover) activation
// rows, so each weight vector loaded serves two activation rows. Accumulators are
// named variables, not arrays: SVE vectors are sizeless and cannot be array elements.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "runtime/kernels/quantized/packed_int8_hwy.cc"
#include <cstring>

#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/quantized/packed_int8.h"

HWY_BEFORE_NAMESPACE();
namespace liteq::runtime::quantized {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// At most 32 int16 lanes: Lanes() is a power of two (SVE counts with SV_POW2), so a
// 32-byte chunk is a whole number of vectors on every target.
using D16 = hn::CappedTag<int16_t, kPackedDepth>;
using D8 = hn::Rebind<int8_t, D16>;  // the int8 half vector that widens to D16
using D32 = hn::Repartition<int32_t, D16>;
using V16 = hn::Vec<D16>;
using V32 = hn::Vec<D32>;

HWY_INLINE V16 LoadWide(const int8_t* p) { return hn::PromoteTo(D16(), hn::LoadU(D8(), p)); }

// sum0 (and sum1, on targets that use it) += the products of a and b, pairwise.
HWY_INLINE V32 MulAcc(V16 a, V16 b, V32 sum0, V32& sum1) {
#if HWY_TARGET == HWY_SCALAR
  (void)sum1;
  return hn::Add(sum0, hn::Mul(hn::PromoteTo(D32(), a), hn::PromoteTo(D32(), b)));
#else
  return hn::ReorderWidenMulAccumulate(D32(), a, b, sum0, sum1);
#endif
}

// The sum of the lanes of sum0 + sum1, modulo 2^32.
HWY_INLINE int32_t Total(V32 sum0, V32 sum1) {
  const D32 d32;
  const V32 v = hn::Add(sum0, sum1);
// AVX3 too: its SumOfLanes is GCC's _mm512_reduce_add_epi32, which adds in signed
// int (undefined on overflow, reported by UBSan) where these sums must wrap.
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_AVX3 || \
    HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX3_ZEN4 || HWY_TARGET == HWY_AVX3_SPR
  HWY_ALIGN int32_t lanes[hn::MaxLanes(d32)];
  hn::Store(v, d32, lanes);
  uint32_t total = 0;
  for (size_t i = 0; i < hn::Lanes(d32); ++i) total += static_cast<uint32_t>(lanes[i]);
  return static_cast<int32_t>(total);
#else
  return hn::GetLane(hn::SumOfLanes(d32, v));
#endif
}

// Activation row x's chunk k: in place for full chunks, else the zero-padded tail (x
// may end at `depth`, and the padding of the weights is zero anyway).
struct XRow {
  const int8_t* x;
  size_t full_chunks;
  HWY_ALIGN int8_t tail[kPackedDepth];
  XRow(const int8_t* row, size_t depth) : x(row), full_chunks(depth / kPackedDepth) {
    std::memset(tail, 0, sizeof(tail));
    const size_t rest = depth % kPackedDepth;
    if (rest != 0) std::memcpy(tail, row + full_chunks * kPackedDepth, rest);
  }
  const int8_t* Chunk(size_t k) const { return k < full_chunks ? x + k * kPackedDepth : tail; }
};

// One activation vector against the same slice of the block's 4 rows.
HWY_INLINE void MulAcc4(V16 x, V16 w0, V16 w1, V16 w2, V16 w3, V32& a0, V32& b0, V32& a1, V32& b1,
                        V32& a2, V32& b2, V32& a3, V32& b3) {
  a0 = MulAcc(x, w0, a0, b0);
  a1 = MulAcc(x, w1, a1, b1);
  a2 = MulAcc(x, w2, a2, b2);
  a3 = MulAcc(x, w3, a3, b3);
}

void Block4x1(const int8_t* blk, size_t chunks, const XRow& x, int32_t* out) {
  const size_t n = hn::Lanes(D16());
  V32 a0 = hn::Zero(D32()), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
  for (size_t k = 0; k < chunks; ++k, blk += kPackedChunkBytes) {
    const int8_t* xk = x.Chunk(k);
    for (size_t i = 0; i < kPackedDepth; i += n) {
      MulAcc4(LoadWide(xk + i), LoadWide(blk + i), LoadWide(blk + kPackedDepth + i),
              LoadWide(blk + 2 * kPackedDepth + i), LoadWide(blk + 3 * kPackedDepth + i), a0, b0,
              a1, b1, a2, b2, a3, b3);
    }
  }
  out[0] = Total(a0, b0);
  out[1] = Total(a1, b1);
  out[2] = Total(a2, b2);
  out[3] = Total(a3, b3);
}

void Block4x2(const int8_t* blk, size_t chunks, const XRow& x0, const XRow& x1, int32_t* out0,
              int32_t* out1) {
  const size_t n = hn::Lanes(D16());
  V32 a00 = hn::Zero(D32()), b00 = a00, a01 = a00, b01 = a00, a02 = a00, b02 = a00, a03 = a00,
      b03 = a00;
  V32 a10 = a00, b10 = a00, a11 = a00, b11 = a00, a12 = a00, b12 = a00, a13 = a00, b13 = a00;
  for (size_t k = 0; k < chunks; ++k, blk += kPackedChunkBytes) {
    const int8_t* xk0 = x0.Chunk(k);
    const int8_t* xk1 = x1.Chunk(k);
    for (size_t i = 0; i < kPackedDepth; i += n) {
      const V16 w0 = LoadWide(blk + i);
      const V16 w1 = LoadWide(blk + kPackedDepth + i);
      const V16 w2 = LoadWide(blk + 2 * kPackedDepth + i);
      const V16 w3 = LoadWide(blk + 3 * kPackedDepth + i);
      MulAcc4(LoadWide(xk0 + i), w0, w1, w2, w3, a00, b00, a01, b01, a02, b02, a03, b03);
      MulAcc4(LoadWide(xk1 + i), w0, w1, w2, w3, a10, b10, a11, b11, a12, b12, a13, b13);
    }
  }
  out0[0] = Total(a00, b00);
  out0[1] = Total(a01, b01);
  out0[2] = Total(a02, b02);
  out0[3] = Total(a03, b03);
  out1[0] = Total(a10, b10);
  out1[1] = Total(a11, b11);
  out1[2] = Total(a12, b12);
  out1[3] = Total(a13, b13);
}

// Activation rows outer in pairs, blocks inner, as PackedInt8DotsAvx2 (a pair's rows
// stay in L1 while the blocks stream past).
void PackedDots(const PackedInt8Weights& w, const int8_t* x, size_t ldx, size_t batches,
                size_t block_begin, size_t block_end, int32_t* dots, size_t ld_dots) {
  const size_t chunks = w.chunks();
  size_t b = 0;
  for (; b + 2 <= batches; b += 2) {
    const XRow x0(x + b * ldx, w.depth());
    const XRow x1(x + (b + 1) * ldx, w.depth());
    for (size_t rb = block_begin; rb < block_end; ++rb) {
      const size_t col = (rb - block_begin) * kPackedRows;
      Block4x2(w.block(rb), chunks, x0, x1, dots + b * ld_dots + col,
               dots + (b + 1) * ld_dots + col);
    }
  }
  for (; b < batches; ++b) {
    const XRow xb(x + b * ldx, w.depth());
    for (size_t rb = block_begin; rb < block_end; ++rb) {
      Block4x1(w.block(rb), chunks, xb, dots + b * ld_dots + (rb - block_begin) * kPackedRows);
    }
  }
}

int64_t CompiledTarget() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace liteq::runtime::quantized
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace liteq::runtime::quantized {

HWY_EXPORT(PackedDots);
HWY_EXPORT(CompiledTarget);

void PackedInt8DotsHwy(const PackedInt8Weights& w, const int8_t* x, size_t ldx, size_t batches,
                       size_t block_begin, size_t block_end, int32_t* dots, size_t ld_dots) {
  LITEQ_CHECK(block_begin <= block_end && block_end <= w.row_blocks());
  LITEQ_CHECK(w.layout() == PackedInt8Layout::kRows4x32);
  HWY_DYNAMIC_DISPATCH(PackedDots)(w, x, ldx, batches, block_begin, block_end, dots, ld_dots);
}

int64_t PackedInt8DotsHwyTarget() { return HWY_DYNAMIC_DISPATCH(CompiledTarget)(); }

bool PackedInt8DotsHwyHasSimd() {
  const int64_t target = PackedInt8DotsHwyTarget();
  return target != HWY_SCALAR && target != HWY_EMU128;
}

}  // namespace liteq::runtime::quantized
#endif  // HWY_ONCE
