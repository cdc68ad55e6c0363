// AVX-512 versions of the hottest requantizing rows (requantize_rows.h): the
// FULLY_CONNECTED epilogue, MUL, ADD/SUB and BATCH_MATMUL, 16 int32 lanes at a time,
// bit-exact with the portable rows. Compiled for generic x86-64: only LITEQ_AVX512 functions use
// AVX-512, and they are called only after RequantizeAvx512Supported().
//
// Same arithmetic as the AVX2 rows (requantize_rows_avx2.cc: the exact 64-bit
// product x * multiplier, even and odd lanes multiplied separately by vpmuldq and
// blended back), minus their workarounds: AVX-512 has a 64-bit arithmetic shift
// (vpsravq) for floor((p + 2^(t-1)) / 2^t) and 64-bit min/max for ApplyMultiplier's
// saturation. Row tails use masked loads and stores instead of scalar code.
#include "runtime/kernels/quantized/requantize_rows.h"

#if defined(__x86_64__) || defined(__i386__)
#include "runtime/kernels/quantized/avx512_intrinsics.h"

namespace liteq::runtime::quantized {
namespace {

LITEQ_AVX512 inline __mmask16 LaneMask(size_t remaining) {
  return remaining >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << remaining) - 1);
}

LITEQ_AVX512 inline __m512i LoadInt8x16(__mmask16 mask, const int8_t* p) {
  return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, p));
}

// + output zero point (wrapping, as the portable rows), clamp to [lo, hi], store the
// masked lanes as int8.
LITEQ_AVX512 inline void OffsetClampStore(__m512i v, __m512i offset, __m512i lo, __m512i hi,
                                          __mmask16 mask, int8_t* p) {
  v = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(v, offset), lo), hi);
  _mm_mask_storeu_epi8(p, mask, _mm512_cvtepi32_epi8(v));
}

// floor((product + 2^(shift - 1)) / 2^shift) per 64-bit lane, shift in [1, 62],
// clamped to int32 when kSaturate. |product| < 2^62: the sum does not overflow.
template <bool kSaturate>
LITEQ_AVX512 inline __m512i RoundingShiftRight64(__m512i product, __m512i shift) {
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i round = _mm512_sllv_epi64(one, _mm512_sub_epi64(shift, one));
  __m512i r = _mm512_srav_epi64(_mm512_add_epi64(product, round), shift);
  if constexpr (kSaturate) {
    r = _mm512_min_epi64(_mm512_max_epi64(r, _mm512_set1_epi64(INT32_MIN)),
                         _mm512_set1_epi64(INT32_MAX));
  }
  return r;
}

// ApplyMultiplier(int64_t{x}, {multiplier, 31 - total_shift}) on 16 lanes.
template <bool kSaturate>
LITEQ_AVX512 inline __m512i ApplyMultiplier16(__m512i x, __m512i multiplier, __m512i total_shift) {
  const __m512i even =
      RoundingShiftRight64<kSaturate>(_mm512_mul_epi32(x, multiplier),
                                      _mm512_and_si512(total_shift, _mm512_set1_epi64(0xFFFFFFFF)));
  const __m512i odd = RoundingShiftRight64<kSaturate>(
      _mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(multiplier, 32)),
      _mm512_srli_epi64(total_shift, 32));
  return _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

// ApplyMultiplier16<false> when every lane's total shift t is at least 33 (multipliers
// below 1/4: FULLY_CONNECTED, MUL and ADD outputs in practice). With p = x * multiplier,
//   floor((p + 2^(t-1)) / 2^t) = (floor(p / 2^(t-1)) + 1) >> 1     (floor of a half)
//   floor(p / 2^(t-1)) = floor(p / 2^32) >> (t - 33)              (nested floors)
// and |p| < 2^62 bounds floor(p / 2^(t-1)) by 2^30: after taking each product's high
// half the rest is exact in 32-bit lanes, with no 64-bit shift or rounding constant.
LITEQ_AVX512 inline __m512i ApplyMultiplierHigh16(__m512i x, __m512i multiplier,
                                                  __m512i shift_minus_33) {
  const __m512i even = _mm512_mul_epi32(x, multiplier);
  const __m512i odd = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(multiplier, 32));
  // Lane 2j: dword 2j + 1 of `even` (its product's high half); lane 2j + 1: of `odd`.
  const __m512i high_halves =
      _mm512_set_epi32(31, 15, 29, 13, 27, 11, 25, 9, 23, 7, 21, 5, 19, 3, 17, 1);
  const __m512i high = _mm512_permutex2var_epi32(even, high_halves, odd);
  const __m512i q = _mm512_srav_epi32(high, shift_minus_33);
  return _mm512_srai_epi32(_mm512_add_epi32(q, _mm512_set1_epi32(1)), 1);
}

// One multiplier for all lanes (MUL, ADD/SUB), applied without saturation by the
// cheaper form when its total shift allows.
struct Multiplier16 {
  __m512i multiplier, total_shift, shift_minus_33;
  bool high;  // total shift >= 33: ApplyMultiplierHigh16
};

LITEQ_AVX512 inline Multiplier16 MakeMultiplier16(quant::QuantizedMultiplier m) {
  const int total = 31 - m.shift;
  return {_mm512_set1_epi32(m.multiplier), _mm512_set1_epi32(total), _mm512_set1_epi32(total - 33),
          total >= 33};
}

LITEQ_AVX512 inline __m512i ApplyMultiplier16(__m512i x, const Multiplier16& m) {
  return m.high ? ApplyMultiplierHigh16(x, m.multiplier, m.shift_minus_33)
                : ApplyMultiplier16<false>(x, m.multiplier, m.total_shift);
}

template <bool kSaturate>
LITEQ_AVX512 void FcRows(const FcRequantizeArgs& args, const int32_t* dots, size_t n, int8_t* out) {
  const __m512i offset = _mm512_set1_epi32(args.output_offset);
  const __m512i lo = _mm512_set1_epi32(args.min);
  const __m512i hi = _mm512_set1_epi32(args.max);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = LaneMask(n - i);
    const __m512i acc = _mm512_add_epi32(_mm512_maskz_loadu_epi32(mask, dots + i),
                                         _mm512_maskz_loadu_epi32(mask, args.bias + i));
    const __m512i multiplier = _mm512_maskz_loadu_epi32(mask, args.multiplier + i);
    const __m512i total_shift = LoadInt8x16(mask, args.total_shift + i);
    __m512i scaled;
    if (!kSaturate && _mm512_mask_cmplt_epi32_mask(mask, total_shift, _mm512_set1_epi32(33)) == 0) {
      scaled = ApplyMultiplierHigh16(acc, multiplier,
                                     _mm512_sub_epi32(total_shift, _mm512_set1_epi32(33)));
    } else {
      scaled = ApplyMultiplier16<kSaturate>(acc, multiplier, total_shift);
    }
    OffsetClampStore(scaled, offset, lo, hi, mask, out + i);
  }
}

// FcRows over a block of rows: each 16 channels' bias, multiplier and shift loaded once.
template <bool kSaturate>
LITEQ_AVX512 void FcBlock(const FcRequantizeArgs& args, const int32_t* dots, size_t ld_dots,
                          size_t rows, size_t n, int8_t* out, size_t ld_out) {
  const __m512i offset = _mm512_set1_epi32(args.output_offset);
  const __m512i lo = _mm512_set1_epi32(args.min);
  const __m512i hi = _mm512_set1_epi32(args.max);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = LaneMask(n - i);
    const __m512i bias = _mm512_maskz_loadu_epi32(mask, args.bias + i);
    const __m512i multiplier = _mm512_maskz_loadu_epi32(mask, args.multiplier + i);
    const __m512i total_shift = LoadInt8x16(mask, args.total_shift + i);
    const __m512i shift_minus_33 = _mm512_sub_epi32(total_shift, _mm512_set1_epi32(33));
    const bool high =
        !kSaturate && _mm512_mask_cmplt_epi32_mask(mask, total_shift, _mm512_set1_epi32(33)) == 0;
    for (size_t r = 0; r < rows; ++r) {
      const __m512i acc =
          _mm512_add_epi32(_mm512_maskz_loadu_epi32(mask, dots + r * ld_dots + i), bias);
      const __m512i scaled = high ? ApplyMultiplierHigh16(acc, multiplier, shift_minus_33)
                                  : ApplyMultiplier16<kSaturate>(acc, multiplier, total_shift);
      OffsetClampStore(scaled, offset, lo, hi, mask, out + r * ld_out + i);
    }
  }
}

template <bool kSaturate>
LITEQ_AVX512 void MulRow(const MulParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                         size_t b_step, int8_t* out, size_t n) {
  const Multiplier16 multiplier = MakeMultiplier16(p.output);
  const __m512i offset1 = _mm512_set1_epi32(p.input1_offset);
  const __m512i offset2 = _mm512_set1_epi32(p.input2_offset);
  const __m512i out_offset = _mm512_set1_epi32(p.output_offset);
  const __m512i lo = _mm512_set1_epi32(p.activation.min);
  const __m512i hi = _mm512_set1_epi32(p.activation.max);
  // A repeated input is the same vector for the whole row.
  const __m512i a_fixed = _mm512_add_epi32(_mm512_set1_epi32(a[0]), offset1);
  const __m512i b_fixed = _mm512_add_epi32(_mm512_set1_epi32(b[0]), offset2);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = LaneMask(n - i);
    // |(a + offset) * (b + offset)| <= 255 * 255: vpmulld is exact.
    const __m512i va = a_step == 0 ? a_fixed : _mm512_add_epi32(LoadInt8x16(mask, a + i), offset1);
    const __m512i vb = b_step == 0 ? b_fixed : _mm512_add_epi32(LoadInt8x16(mask, b + i), offset2);
    const __m512i product = _mm512_mullo_epi32(va, vb);
    const __m512i scaled =
        kSaturate ? ApplyMultiplier16<true>(product, multiplier.multiplier, multiplier.total_shift)
                  : ApplyMultiplier16(product, multiplier);
    OffsetClampStore(scaled, out_offset, lo, hi, mask, out + i);
  }
}

// The input at the common scale: ApplyMultiplier((x + offset) << left_shift) (the
// shifts of AddSubParams are <= 0 here, so nothing saturates).
LITEQ_AVX512 inline __m512i ScaleInput(__mmask16 mask, const int8_t* x, __m512i offset,
                                       __m128i left_shift, const Multiplier16& m) {
  const __m512i shifted =
      _mm512_sll_epi32(_mm512_add_epi32(LoadInt8x16(mask, x), offset), left_shift);
  return ApplyMultiplier16(shifted, m);
}

LITEQ_AVX512 void AddSubRow(const AddSubParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                            size_t b_step, int8_t* out, size_t n) {
  const __m512i offset1 = _mm512_set1_epi32(p.input1_offset);
  const __m512i offset2 = _mm512_set1_epi32(p.input2_offset);
  const Multiplier16 input1 = MakeMultiplier16(p.input1);
  const Multiplier16 input2 = MakeMultiplier16(p.input2);
  const Multiplier16 output = MakeMultiplier16(p.output);
  const __m512i out_offset = _mm512_set1_epi32(p.output_offset);
  const __m512i lo = _mm512_set1_epi32(p.activation.min);
  const __m512i hi = _mm512_set1_epi32(p.activation.max);
  const __m128i left_shift = _mm_cvtsi32_si128(p.left_shift);
  // A repeated input is rescaled once per row, by the scalar code.
  const __m512i a_fixed = _mm512_set1_epi32(
      ApplyMultiplier((p.input1_offset + a[0]) * (1 << p.left_shift), p.input1, /*single=*/true));
  const __m512i b_fixed = _mm512_set1_epi32(AddSubScaledInput2(p, b[0]));
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = LaneMask(n - i);
    const __m512i sa = a_step == 0 ? a_fixed : ScaleInput(mask, a + i, offset1, left_shift, input1);
    const __m512i sb = b_step == 0 ? b_fixed : ScaleInput(mask, b + i, offset2, left_shift, input2);
    // |sa|, |sb| < 2^28: the int32 sum is exact.
    const __m512i raw = p.subtract ? _mm512_sub_epi32(sa, sb) : _mm512_add_epi32(sa, sb);
    OffsetClampStore(ApplyMultiplier16(raw, output), out_offset, lo, hi, mask, out + i);
  }
}

// MultiplyByQuantizedMultiplier (TFLite's double rounding: the doubling high
// multiply, then a rounding divide by 2^right_shift) on 16 lanes, as the AVX2 version
// (requantize_rows_avx2.cc) with mask registers for its comparisons. multiplier >= 0.
struct DoubleRounding16 {
  __m512i multiplier;
  __m128i left_shift, right_shift;  // shift counts
  __m512i mask;                     // 2^right_shift - 1
  __m512i half_mask;                // mask >> 1
};

LITEQ_AVX512 inline DoubleRounding16 MakeDoubleRounding16(quant::QuantizedMultiplier m) {
  DoubleRounding16 d;
  const int right = m.shift > 0 ? 0 : -m.shift;
  d.multiplier = _mm512_set1_epi32(m.multiplier);
  d.left_shift = _mm_cvtsi32_si128(m.shift > 0 ? m.shift : 0);
  d.right_shift = _mm_cvtsi32_si128(right);
  const auto mask = static_cast<int32_t>((int64_t{1} << right) - 1);
  d.mask = _mm512_set1_epi32(mask);
  d.half_mask = _mm512_set1_epi32(mask >> 1);
  return d;
}

LITEQ_AVX512 inline __m512i MultiplyByQuantizedMultiplier16(__m512i x, const DoubleRounding16& d) {
  x = _mm512_sll_epi32(x, d.left_shift);
  const __m512i nudge = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, d.multiplier), nudge);
  const __m512i odd = _mm512_add_epi64(
      _mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(d.multiplier, 32)), nudge);
  // Bits 31..62 of each sum: into the low half of the even lanes, the high half of the odd.
  const __m512i high =
      _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
  // RoundingDivideByPOT: (x >> e) + (remainder > (mask >> 1) + (x < 0)).
  const __m512i one = _mm512_set1_epi32(1);
  const __mmask16 negative = _mm512_cmplt_epi32_mask(high, _mm512_setzero_si512());
  const __m512i threshold = _mm512_mask_add_epi32(d.half_mask, negative, d.half_mask, one);
  const __m512i shifted = _mm512_sra_epi32(high, d.right_shift);
  const __mmask16 round_up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(high, d.mask), threshold);
  return _mm512_mask_add_epi32(shifted, round_up, shifted, one);
}

LITEQ_AVX512 void BatchMatMulRows(const BatchMatMulRequantizeArgs& args, const int32_t* dots,
                                  size_t n, int8_t* out) {
  const DoubleRounding16 d = MakeDoubleRounding16(args.multiplier);
  const __m512i row_term = _mm512_set1_epi32(static_cast<int32_t>(args.row_term));
  const __m512i lhs_offset = _mm512_set1_epi32(static_cast<int32_t>(args.lhs_offset));
  const __m512i out_offset = _mm512_set1_epi32(args.output_offset);
  const __m512i lo = _mm512_set1_epi32(-128);
  const __m512i hi = _mm512_set1_epi32(127);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = LaneMask(n - i);
    // vpmulld keeps the low 32 bits: the uint32 product of the portable code.
    const __m512i col_term =
        _mm512_mullo_epi32(lhs_offset, _mm512_maskz_loadu_epi32(mask, args.col_sums + i));
    const __m512i acc = _mm512_add_epi32(
        _mm512_add_epi32(_mm512_maskz_loadu_epi32(mask, dots + i), row_term), col_term);
    OffsetClampStore(MultiplyByQuantizedMultiplier16(acc, d), out_offset, lo, hi, mask, out + i);
  }
}

}  // namespace

void BatchMatMulRequantizeAvx512(const BatchMatMulRequantizeArgs& args, const int32_t* dots,
                                 size_t n, int8_t* out) {
  if (args.multiplier.multiplier < 0) {  // outside QuantizeMultiplier's range
    BatchMatMulRequantizePortable(args, dots, n, out);
    return;
  }
  BatchMatMulRows(args, dots, n, out);
}

bool RequantizeAvx512Supported() {
  static const bool supported = __builtin_cpu_supports("avx512f") != 0 &&
                                __builtin_cpu_supports("avx512bw") != 0 &&
                                __builtin_cpu_supports("avx512vl") != 0;
  return supported;
}

void FcRequantizeAvx512(const FcRequantizeArgs& args, const int32_t* dots, size_t n, int8_t* out) {
  if (args.saturate) {
    FcRows<true>(args, dots, n, out);
  } else {
    FcRows<false>(args, dots, n, out);
  }
}

void FcRequantizeBlockAvx512(const FcRequantizeArgs& args, const int32_t* dots, size_t ld_dots,
                             size_t rows, size_t n, int8_t* out, size_t ld_out) {
  if (args.saturate) {
    FcBlock<true>(args, dots, ld_dots, rows, n, out, ld_out);
  } else {
    FcBlock<false>(args, dots, ld_dots, rows, n, out, ld_out);
  }
}

void MulInt8RowAvx512(const MulParams& p, const int8_t* a, size_t a_step, const int8_t* b,
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

void AddSubInt8RowAvx512(const AddSubParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                         size_t b_step, int8_t* out, size_t n) {
  if (n == 0) return;
  if (!AddSubFitsSimdRows(p)) {
    AddSubInt8RowPortable(p, a, a_step, b, b_step, out, n);
    return;
  }
  AddSubRow(p, a, a_step, b, b_step, out, n);
}

}  // namespace liteq::runtime::quantized

#else  // not x86: never selected (RequantizeAvx512Supported() is false).

namespace liteq::runtime::quantized {

bool RequantizeAvx512Supported() { return false; }
void FcRequantizeAvx512(const FcRequantizeArgs& args, const int32_t* dots, size_t n, int8_t* out) {
  FcRequantizePortable(args, dots, n, out);
}
void FcRequantizeBlockAvx512(const FcRequantizeArgs& args, const int32_t* dots, size_t ld_dots,
                             size_t rows, size_t n, int8_t* out, size_t ld_out) {
  FcRequantizeBlockPortable(args, dots, ld_dots, rows, n, out, ld_out);
}
void MulInt8RowAvx512(const MulParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                      size_t b_step, int8_t* out, size_t n) {
  MulInt8RowPortable(p, a, a_step, b, b_step, out, n);
}
void AddSubInt8RowAvx512(const AddSubParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                         size_t b_step, int8_t* out, size_t n) {
  AddSubInt8RowPortable(p, a, a_step, b, b_step, out, n);
}
void BatchMatMulRequantizeAvx512(const BatchMatMulRequantizeArgs& args, const int32_t* dots,
                                 size_t n, int8_t* out) {
  BatchMatMulRequantizePortable(args, dots, n, out);
}

}  // namespace liteq::runtime::quantized

#endif
