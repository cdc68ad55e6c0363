// AVX2 versions of the requantizing rows (requantize_rows.h), 8 int32 lanes at a time,
// bit-exact with the portable rows. Compiled for generic x86-64: only the functions
// marked LITEQ_AVX2 use AVX2, and they are called only after Int8DotsAvx2Supported().
//
// Both roundings need the exact 64-bit product x * multiplier. vpmuldq
// (_mm256_mul_epi32) multiplies only the even 32-bit lanes (sign-extended) into four
// 64-bit products, so each vector is done as an even and an odd half (the odd lanes
// moved down by a 64-bit shift) and the two halves' int32 results are blended back.
//
// Single rounding (ApplyMultiplier): floor((p + 2^(t-1)) / 2^t), t = 31 - shift in
// [1, 62]. AVX2 has no 64-bit arithmetic right shift; for v < 0,
// floor(v / 2^t) = ~(~v >>> t) (~v >= 0), so v is xor-ed with its sign mask before and
// after the logical shift (vpsrlvq, per-lane counts). For t >= 31 the result fits
// int32; for t < 31 (multiplier >= 1, known at Prepare) it is clamped to int32 in 64
// bits first, as ApplyMultiplier saturates.
//
// Double rounding (quant::MultiplyByQuantizedMultiplier): x is shifted left (wrapping,
// vpslld) and SaturatingRoundingDoublingHighMul is, for multiplier >= 0 (so never
// INT32_MIN * INT32_MIN), floor((p + 2^30) / 2^31): gemmlowp's nudge 2^30 for p >= 0
// and 1 - 2^30 for p < 0 followed by a division truncating towards zero give the same
// integer (for p < 0, trunc(t / 2^31) = floor((t + 2^31 - 1) / 2^31) and
// t + 2^31 - 1 = p + 2^30). That result fits int32, so it is bits 31..62 of p + 2^30,
// which a logical shift reads as well as an arithmetic one. RoundingDivideByPOT is
// int32 lane arithmetic as written in fixed_point.cc.
#include "runtime/kernels/quantized/requantize_rows.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#define LITEQ_AVX2 __attribute__((target("avx2")))

namespace liteq::runtime::quantized {
namespace {

LITEQ_AVX2 inline __m256i LoadInt32x8(const int32_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

LITEQ_AVX2 inline __m256i LoadInt8x8(const int8_t* p) {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

// v's lanes are already within [-128, 127], so the saturating packs only narrow.
LITEQ_AVX2 inline void StoreInt8x8(__m256i v, int8_t* p) {
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packs_epi16(words, words));
}

// + output zero point (wrapping, as the portable rows), clamp to [lo, hi], store.
LITEQ_AVX2 inline void OffsetClampStore(__m256i v, __m256i offset, __m256i lo, __m256i hi,
                                        int8_t* p) {
  v = _mm256_add_epi32(v, offset);
  StoreInt8x8(_mm256_min_epi32(_mm256_max_epi32(v, lo), hi), p);
}

// ApplyMultiplier's per-lane constants, split into the even and odd lanes' 64-bit views.
struct SingleRounding {
  __m256i multiplier;             // 8 x int32 in [0, 2^31)
  __m256i shift_even, shift_odd;  // 4 x int64 total shifts in [1, 62]
  __m256i round_even, round_odd;  // 4 x int64: 2^(total shift - 1)
};

LITEQ_AVX2 inline SingleRounding MakeSingleRounding(__m256i multiplier, __m256i total_shift) {
  const __m256i one = _mm256_set1_epi64x(1);
  SingleRounding s;
  s.multiplier = multiplier;
  s.shift_even = _mm256_and_si256(total_shift, _mm256_set1_epi64x(0xFFFFFFFF));
  s.shift_odd = _mm256_srli_epi64(total_shift, 32);
  s.round_even = _mm256_sllv_epi64(one, _mm256_sub_epi64(s.shift_even, one));
  s.round_odd = _mm256_sllv_epi64(one, _mm256_sub_epi64(s.shift_odd, one));
  return s;
}

// floor((product + round) / 2^shift) per 64-bit lane, clamped to int32 when kSaturate.
// |product| < 2^62 and round <= 2^61, so the sum does not overflow.
template <bool kSaturate>
LITEQ_AVX2 inline __m256i RoundingShiftRight64(__m256i product, __m256i round, __m256i shift) {
  const __m256i v = _mm256_add_epi64(product, round);
  const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
  __m256i r = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(v, sign), shift), sign);
  if constexpr (kSaturate) {
    const __m256i max = _mm256_set1_epi64x(INT32_MAX);
    const __m256i min = _mm256_set1_epi64x(INT32_MIN);
    r = _mm256_blendv_epi8(r, max, _mm256_cmpgt_epi64(r, max));
    r = _mm256_blendv_epi8(r, min, _mm256_cmpgt_epi64(min, r));
  }
  return r;
}

// ApplyMultiplier(int64_t{x}, m) on 8 lanes.
template <bool kSaturate>
LITEQ_AVX2 inline __m256i ApplyMultiplier8(__m256i x, const SingleRounding& s) {
  const __m256i even = RoundingShiftRight64<kSaturate>(_mm256_mul_epi32(x, s.multiplier),
                                                       s.round_even, s.shift_even);
  const __m256i odd = RoundingShiftRight64<kSaturate>(
      _mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(s.multiplier, 32)), s.round_odd,
      s.shift_odd);
  return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

LITEQ_AVX2 inline SingleRounding PerTensor(quant::QuantizedMultiplier m) {
  return MakeSingleRounding(_mm256_set1_epi32(m.multiplier), _mm256_set1_epi32(31 - m.shift));
}

template <bool kSaturate>
LITEQ_AVX2 void FcRows(const FcRequantizeArgs& args, const int32_t* dots, size_t n, int8_t* out) {
  const __m256i offset = _mm256_set1_epi32(args.output_offset);
  const __m256i lo = _mm256_set1_epi32(args.min);
  const __m256i hi = _mm256_set1_epi32(args.max);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i acc = _mm256_add_epi32(LoadInt32x8(dots + i), LoadInt32x8(args.bias + i));
    const SingleRounding s =
        MakeSingleRounding(LoadInt32x8(args.multiplier + i), LoadInt8x8(args.total_shift + i));
    OffsetClampStore(ApplyMultiplier8<kSaturate>(acc, s), offset, lo, hi, out + i);
  }
  for (; i < n; ++i) out[i] = FcRequantizeOne(args, dots[i], i);
}

// quant::MultiplyByQuantizedMultiplier's constants for one multiplier >= 0.
struct DoubleRounding {
  __m256i multiplier;
  __m128i left_shift, right_shift;  // shift counts
  __m256i mask;                     // 2^right_shift - 1
  __m256i half_mask;                // mask >> 1
};

LITEQ_AVX2 inline DoubleRounding MakeDoubleRounding(quant::QuantizedMultiplier m) {
  DoubleRounding d;
  const int right = m.shift > 0 ? 0 : -m.shift;
  d.multiplier = _mm256_set1_epi32(m.multiplier);
  d.left_shift = _mm_cvtsi32_si128(m.shift > 0 ? m.shift : 0);
  d.right_shift = _mm_cvtsi32_si128(right);
  const auto mask = static_cast<int32_t>((int64_t{1} << right) - 1);
  d.mask = _mm256_set1_epi32(mask);
  d.half_mask = _mm256_set1_epi32(mask >> 1);
  return d;
}

LITEQ_AVX2 inline __m256i MultiplyByQuantizedMultiplier8(__m256i x, const DoubleRounding& d) {
  x = _mm256_sll_epi32(x, d.left_shift);
  const __m256i nudge = _mm256_set1_epi64x(int64_t{1} << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, d.multiplier), nudge);
  const __m256i odd = _mm256_add_epi64(
      _mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(d.multiplier, 32)), nudge);
  // Bits 31..62 of each sum: into the low half of the even lanes, the high half of the odd.
  const __m256i high =
      _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  // RoundingDivideByPOT: (x >> e) + (remainder > (mask >> 1) + (x < 0)).
  const __m256i negative = _mm256_cmpgt_epi32(_mm256_setzero_si256(), high);  // -1 or 0
  const __m256i threshold = _mm256_sub_epi32(d.half_mask, negative);
  const __m256i remainder = _mm256_and_si256(high, d.mask);
  return _mm256_sub_epi32(_mm256_sra_epi32(high, d.right_shift),
                          _mm256_cmpgt_epi32(remainder, threshold));
}

template <bool kSaturate>
LITEQ_AVX2 void MulRow(const MulParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                       size_t b_step, int8_t* out, size_t n) {
  const SingleRounding s = PerTensor(p.output);
  const __m256i offset1 = _mm256_set1_epi32(p.input1_offset);
  const __m256i offset2 = _mm256_set1_epi32(p.input2_offset);
  const __m256i out_offset = _mm256_set1_epi32(p.output_offset);
  const __m256i lo = _mm256_set1_epi32(p.activation.min);
  const __m256i hi = _mm256_set1_epi32(p.activation.max);
  // A repeated input is the same vector for the whole row.
  const __m256i a_fixed = _mm256_add_epi32(_mm256_set1_epi32(a[0]), offset1);
  const __m256i b_fixed = _mm256_add_epi32(_mm256_set1_epi32(b[0]), offset2);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // |(a + offset) * (b + offset)| <= 255 * 255: vpmulld is exact.
    const __m256i va = a_step == 0 ? a_fixed : _mm256_add_epi32(LoadInt8x8(a + i), offset1);
    const __m256i vb = b_step == 0 ? b_fixed : _mm256_add_epi32(LoadInt8x8(b + i), offset2);
    OffsetClampStore(ApplyMultiplier8<kSaturate>(_mm256_mullo_epi32(va, vb), s), out_offset, lo, hi,
                     out + i);
  }
  for (; i < n; ++i) out[i] = static_cast<int8_t>(MulElement(p, a[i * a_step], b[i * b_step]));
}

// The input at the common scale: ApplyMultiplier((x + offset) << left_shift) (the
// shifts of AddSubParams are <= 0, so nothing saturates).
LITEQ_AVX2 inline __m256i ScaleInput(const int8_t* x, __m256i offset, __m128i left_shift,
                                     const SingleRounding& s) {
  return ApplyMultiplier8<false>(
      _mm256_sll_epi32(_mm256_add_epi32(LoadInt8x8(x), offset), left_shift), s);
}

LITEQ_AVX2 void AddSubRow(const AddSubParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                          size_t b_step, int8_t* out, size_t n) {
  const SingleRounding s1 = PerTensor(p.input1);
  const SingleRounding s2 = PerTensor(p.input2);
  const SingleRounding so = PerTensor(p.output);
  const __m256i offset1 = _mm256_set1_epi32(p.input1_offset);
  const __m256i offset2 = _mm256_set1_epi32(p.input2_offset);
  const __m256i out_offset = _mm256_set1_epi32(p.output_offset);
  const __m256i lo = _mm256_set1_epi32(p.activation.min);
  const __m256i hi = _mm256_set1_epi32(p.activation.max);
  const __m128i left_shift = _mm_cvtsi32_si128(p.left_shift);
  // A repeated input is rescaled once per row, by the scalar code.
  const __m256i a_fixed = _mm256_set1_epi32(
      ApplyMultiplier((p.input1_offset + a[0]) * (1 << p.left_shift), p.input1, /*single=*/true));
  const __m256i b_fixed = _mm256_set1_epi32(AddSubScaledInput2(p, b[0]));
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i sa = a_step == 0 ? a_fixed : ScaleInput(a + i, offset1, left_shift, s1);
    const __m256i sb = b_step == 0 ? b_fixed : ScaleInput(b + i, offset2, left_shift, s2);
    // |sa|, |sb| < 2^28: the int32 sum is exact.
    const __m256i raw = p.subtract ? _mm256_sub_epi32(sa, sb) : _mm256_add_epi32(sa, sb);
    OffsetClampStore(ApplyMultiplier8<false>(raw, so), out_offset, lo, hi, out + i);
  }
  for (; i < n; ++i) out[i] = static_cast<int8_t>(AddSubElement(p, a[i * a_step], b[i * b_step]));
}

}  // namespace

void FcRequantizeAvx2(const FcRequantizeArgs& args, const int32_t* dots, size_t n, int8_t* out) {
  if (args.saturate) {
    FcRows<true>(args, dots, n, out);
  } else {
    FcRows<false>(args, dots, n, out);
  }
}

LITEQ_AVX2 void BatchMatMulRequantizeAvx2(const BatchMatMulRequantizeArgs& args,
                                          const int32_t* dots, size_t n, int8_t* out) {
  if (args.multiplier.multiplier < 0) {  // outside QuantizeMultiplier's range
    BatchMatMulRequantizePortable(args, dots, n, out);
    return;
  }
  const DoubleRounding d = MakeDoubleRounding(args.multiplier);
  const __m256i row_term = _mm256_set1_epi32(static_cast<int32_t>(args.row_term));
  const __m256i lhs_offset = _mm256_set1_epi32(static_cast<int32_t>(args.lhs_offset));
  const __m256i out_offset = _mm256_set1_epi32(args.output_offset);
  const __m256i lo = _mm256_set1_epi32(-128);
  const __m256i hi = _mm256_set1_epi32(127);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // vpmulld keeps the low 32 bits: the uint32 product of the portable code.
    const __m256i col_term = _mm256_mullo_epi32(lhs_offset, LoadInt32x8(args.col_sums + i));
    const __m256i acc =
        _mm256_add_epi32(_mm256_add_epi32(LoadInt32x8(dots + i), row_term), col_term);
    OffsetClampStore(MultiplyByQuantizedMultiplier8(acc, d), out_offset, lo, hi, out + i);
  }
  for (; i < n; ++i) out[i] = BatchMatMulRequantizeOne(args, dots[i], i);
}

void MulInt8RowAvx2(const MulParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                    size_t b_step, int8_t* out, size_t n) {
  if (n == 0) return;
  if (!p.single_rounding) {
    MulInt8RowPortable(p, a, a_step, b, b_step, out, n);
  } else if (p.output.shift > 0) {  // multiplier >= 1: products may saturate
    MulRow<true>(p, a, a_step, b, b_step, out, n);
  } else {
    MulRow<false>(p, a, a_step, b, b_step, out, n);
  }
}

void AddSubInt8RowAvx2(const AddSubParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                       size_t b_step, int8_t* out, size_t n) {
  if (n == 0) return;
  if (!AddSubFitsSimdRows(p)) {
    AddSubInt8RowPortable(p, a, a_step, b, b_step, out, n);
    return;
  }
  AddSubRow(p, a, a_step, b, b_step, out, n);
}

}  // namespace liteq::runtime::quantized

#else  // not x86: the portable code stands in (never selected by the Best* functions).

namespace liteq::runtime::quantized {

void FcRequantizeAvx2(const FcRequantizeArgs& args, const int32_t* dots, size_t n, int8_t* out) {
  FcRequantizePortable(args, dots, n, out);
}
void BatchMatMulRequantizeAvx2(const BatchMatMulRequantizeArgs& args, const int32_t* dots, size_t n,
                               int8_t* out) {
  BatchMatMulRequantizePortable(args, dots, n, out);
}
void MulInt8RowAvx2(const MulParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                    size_t b_step, int8_t* out, size_t n) {
  MulInt8RowPortable(p, a, a_step, b, b_step, out, n);
}
void AddSubInt8RowAvx2(const AddSubParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                       size_t b_step, int8_t* out, size_t n) {
  AddSubInt8RowPortable(p, a, a_step, b, b_step, out, n);
}

}  // namespace liteq::runtime::quantized

#endif
