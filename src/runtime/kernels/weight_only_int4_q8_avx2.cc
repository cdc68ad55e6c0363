// AVX2 + FMA code of weight_only_int4_q8.h, bit-exact with the scalar reference.
// Compiled for generic x86-64: only the LITEQ_AVX2 functions use AVX2/FMA, and they
// run only after CpuHasAvx2Fma() (run-time dispatch).
//
// Products: 32 weight bytes (64 weights, two groups) per step. XOR 0x88 turns each
// two's-complement nibble q into the unsigned u = q + 8 (0..15); the low and the high
// nibbles (the even and the odd weights) multiply the activations stored as 32 even
// then 32 odd values with _mm256_maddubs_epi16 (u * q_x: |2 * 15 * 127| fits int16,
// no saturation; two of them summed still fit), and _mm256_madd_epi16 by 1 widens
// to int32. The low 128 bits of a step hold the first group, the high 128 bits the
// second. Four steps (8 groups) reduce with three hadds to one vector of group sums,
// sum(u * q_x) = d_g + 8 * sum(q_x), from which the row's offsets are subtracted:
// every d_g is exact, so only the float epilogue's order matters, and it is the
// reference's (lane g % 8, fma, the same final sum).
#include <cstring>

#include "runtime/kernels/weight_only_int4_q8.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

#define LITEQ_AVX2 __attribute__((target("avx2,fma")))

namespace liteq::runtime::internal {
namespace {

constexpr size_t kStep = 2 * kQ8Group;  // weights per 32-byte step
constexpr size_t kChunkGroups = 8;
constexpr size_t kPrefetchAhead = 2048;

// ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)), the reference's order.
LITEQ_AVX2 inline float SumLanes(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

LITEQ_AVX2 inline int32_t SumInt32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

// 32 activations quantized to int8 in natural order, or zeros (scale 0 or NaN);
// returns the group's sum of q.
LITEQ_AVX2 __m256i QuantizeGroup(const float* x, float* scale, int32_t* sum) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  int finite = 0xFF;
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_loadu_ps(x + 8 * i);
    const __m256 a = _mm256_and_ps(v[i], abs_mask);
    // Ordered compare: false for NaN and for infinities (> FLT_MAX).
    finite &= _mm256_movemask_ps(_mm256_cmp_ps(a, _mm256_set1_ps(FLT_MAX), _CMP_LE_OQ));
    amax = _mm256_max_ps(amax, a);
  }
  *sum = 0;
  if (finite != 0xFF) {
    *scale = std::numeric_limits<float>::quiet_NaN();
    return _mm256_setzero_si256();
  }
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  const float top = _mm_cvtss_f32(m);
  const float inverse = 127.0f / top;
  if (top == 0.0f || !std::isfinite(inverse)) {
    *scale = 0.0f;
    return _mm256_setzero_si256();
  }
  *scale = top / 127.0f;
  const __m256 inv = _mm256_set1_ps(inverse);
  const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
  __m256i q[4];
  __m256i total = _mm256_setzero_si256();
  for (int i = 0; i < 4; ++i) {
    // cvtps rounds to nearest even (the default MXCSR mode), as nearbyint does.
    q[i] = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(v[i], inv)), lo), hi);
    total = _mm256_add_epi32(total, q[i]);
  }
  *sum = SumInt32(total);
  // packs interleave the 128-bit lanes: dwords come out as elements
  // [0-3, 8-11, 16-19, 24-27 | 4-7, 12-15, 20-23, 28-31].
  const __m256i bytes =
      _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// 32 natural-order values as [16 even | 16 odd].
LITEQ_AVX2 inline __m256i SplitEvenOdd(__m256i v) {
  const __m256i shuffle = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0,
                                           2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  return _mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, shuffle), _MM_SHUFFLE(3, 1, 2, 0));
}

// Group sums (plus 8 * sum(q_x)) of 32 weight bytes, 4 int32 per group.
LITEQ_AVX2 inline __m256i StepOfBytes(__m256i bytes, const int8_t* x) {
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i u = _mm256_xor_si256(bytes, _mm256_set1_epi8(static_cast<char>(0x88)));
  const __m256i even = _mm256_and_si256(u, nibble);
  const __m256i odd = _mm256_and_si256(_mm256_srli_epi16(u, 4), nibble);
  const __m256i pairs = _mm256_add_epi16(
      _mm256_maddubs_epi16(even, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x))),
      _mm256_maddubs_epi16(odd, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32))));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

// One 32-byte step.
LITEQ_AVX2 inline __m256i Step(const uint8_t* w, const int8_t* x) {
  return StepOfBytes(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)), x);
}

// Step for the last group of a row with an odd group count: its 16 bytes, then 0x88
// (u = 0, adds nothing), without reading past the row.
LITEQ_AVX2 inline __m256i HalfStep(const uint8_t* w, const int8_t* x) {
  return StepOfBytes(
      _mm256_inserti128_si256(_mm256_set1_epi8(static_cast<char>(0x88)),
                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(w)), 0),
      x);
}

// sum(u * q_x) of the last `groups` (1..7) groups of a row in natural order; the
// groups past them (zero activations) give 0.
LITEQ_AVX2 inline __m256i TailChunkSums(const uint8_t* w, const int8_t* x, size_t groups) {
  __m256i s[4];
  for (size_t i = 0; i < 4; ++i) {
    if (2 * i + 2 <= groups) {
      s[i] = Step(w + 32 * i, x + kStep * i);
    } else if (2 * i + 1 == groups) {
      s[i] = HalfStep(w + 32 * i, x + kStep * i);
    } else {
      s[i] = _mm256_setzero_si256();
    }
  }
  // hadd within 128-bit lanes: groups come out as [0, 2, 4, 6 | 1, 3, 5, 7].
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
  return _mm256_permutevar8x32_epi32(h, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// The weight scales of groups [8c, 8c + 8) of a row. Past `groups` any finite value
// (the activation scales there are 0): the row's last scale.
LITEQ_AVX2 inline __m256 GroupScales(const float* row_scales, size_t groups_per_block, size_t c,
                                     size_t groups) {
  const size_t g0 = c * kChunkGroups;
  if (groups_per_block == groups) return _mm256_set1_ps(row_scales[0]);  // per channel
  if (g0 + kChunkGroups <= groups) {
    if (groups_per_block == 1) return _mm256_loadu_ps(row_scales + g0);
    if (groups_per_block == 2) {
      return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(row_scales + g0 / 2)),
                                      _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
    }
    if (groups_per_block == 4) {
      return _mm256_setr_m128(_mm_set1_ps(row_scales[g0 / 4]), _mm_set1_ps(row_scales[g0 / 4 + 1]));
    }
    if (g0 / groups_per_block == (g0 + kChunkGroups - 1) / groups_per_block) {
      return _mm256_set1_ps(row_scales[g0 / groups_per_block]);
    }
  }
  alignas(32) float s[kChunkGroups];
  for (size_t j = 0; j < kChunkGroups; ++j) {
    s[j] = row_scales[(std::min(g0 + j, groups - 1)) / groups_per_block];
  }
  return _mm256_load_ps(s);
}

struct RowLayout {
  size_t groups, blocks, groups_per_block, full_chunks, tail_groups, row_bytes;
  explicit RowLayout(const WeightOnlyMatrix& w)
      : groups(w.depth / kQ8Group),
        blocks(w.depth / w.block),
        groups_per_block(w.block / kQ8Group),
        full_chunks(groups / kChunkGroups),
        tail_groups(groups % kChunkGroups),
        row_bytes(w.depth / 2) {}
};
constexpr size_t kChunkBytes = kChunkGroups * kQ8Group / 2;

// The weights stream once from memory: ask for the lines kPrefetchAhead bytes past
// the rows about to be read (prefetches do not fault; past the matrix they are dropped).
LITEQ_AVX2 inline void Prefetch(const RowLayout& l, const uint8_t* w, size_t rows) {
  for (size_t i = 0; i < rows * l.row_bytes; i += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(w + kPrefetchAhead + i), _MM_HINT_T0);
  }
}

// Group sums of R rows (row i at w + i * row_bytes) for one full chunk.
template <int R>
LITEQ_AVX2 inline void FullChunkSumsRows(const uint8_t* w, size_t row_bytes, const int8_t* x,
                                         __m256i* sums) {
  const __m256i nibble = _mm256_set1_epi8(0x0F), flip = _mm256_set1_epi8(static_cast<char>(0x88));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i s[R][4];
  for (int i = 0; i < 4; ++i) {
    const __m256i xe = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + kStep * i));
    const __m256i xo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + kStep * i + 32));
    for (int k = 0; k < R; ++k) {
      const __m256i u = _mm256_xor_si256(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k * row_bytes + 32 * i)), flip);
      const __m256i even = _mm256_and_si256(u, nibble);
      const __m256i odd = _mm256_and_si256(_mm256_srli_epi16(u, 4), nibble);
      s[k][i] = _mm256_madd_epi16(
          _mm256_add_epi16(_mm256_maddubs_epi16(even, xe), _mm256_maddubs_epi16(odd, xo)), ones);
    }
  }
  for (int k = 0; k < R; ++k) {
    // hadd within 128-bit lanes: groups come out as [0, 2, 4, 6 | 1, 3, 5, 7].
    const __m256i h =
        _mm256_hadd_epi32(_mm256_hadd_epi32(s[k][0], s[k][1]), _mm256_hadd_epi32(s[k][2], s[k][3]));
    sums[k] = _mm256_permutevar8x32_epi32(h, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  }
}

// acc = fma(float(sums - offsets), weight scales * activation scales, acc) for chunk c.
LITEQ_AVX2 inline __m256 Accumulate(const RowLayout& l, const float* row_scales, const Q8Row& x,
                                    size_t c, __m256i sums, __m256 acc) {
  const size_t g0 = c * kChunkGroups;
  const __m256 scale = _mm256_mul_ps(GroupScales(row_scales, l.groups_per_block, c, l.groups),
                                     _mm256_loadu_ps(x.scales + g0));
  const __m256i dots =
      _mm256_sub_epi32(sums, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.offsets + g0)));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots), scale, acc);
}

// out[b, r .. r + R) for activation row b.
template <int R>
LITEQ_AVX2 inline void Rows(const WeightOnlyMatrix& w, const RowLayout& l, const Int4Q8GemvArgs& a,
                            size_t r, size_t b) {
  const Q8Row& x = a.x[b];
  const uint8_t* wr = w.data + r * l.row_bytes;
  const float* row_scales = w.scales + r * l.blocks;
  __m256 acc[R];
  for (int k = 0; k < R; ++k) acc[k] = _mm256_setzero_ps();
  size_t c = 0;
  for (; c < l.full_chunks; ++c) {
    __m256i sums[R];
    FullChunkSumsRows<R>(wr + c * kChunkBytes, l.row_bytes, x.q + c * kChunkGroups * kQ8Group,
                         sums);
    for (int k = 0; k < R; ++k) {
      acc[k] = Accumulate(l, row_scales + k * l.blocks, x, c, sums[k], acc[k]);
    }
  }
  if (l.tail_groups != 0) {
    __m256i sums[R];
    for (int k = 0; k < R; ++k) {
      sums[k] = TailChunkSums(wr + k * l.row_bytes + c * kChunkBytes,
                              x.q + c * kChunkGroups * kQ8Group, l.tail_groups);
      acc[k] = Accumulate(l, row_scales + k * l.blocks, x, c, sums[k], acc[k]);
    }
  }
  for (int k = 0; k < R; ++k) {
    float sum = SumLanes(acc[k]);
    if (a.bias != nullptr) sum += a.bias[r + k];
    a.out[b * a.ldo + r + k] = sum;
  }
}

}  // namespace

LITEQ_AVX2 void QuantizeQ8ActivationsAvx2(const float* x, size_t depth, const Q8Row& row) {
  const size_t groups = depth / kQ8Group;
  std::memset(row.q, 0, Q8RowBytes(depth));
  for (size_t g = groups; g < Q8RowGroups(depth); ++g) {
    row.scales[g] = 0.0f;
    row.offsets[g] = 0;
  }
  for (size_t g = 0; g < groups; g += 2) {
    int32_t sum0 = 0, sum1 = 0;
    const __m256i a = SplitEvenOdd(QuantizeGroup(x + g * kQ8Group, &row.scales[g], &sum0));
    __m256i b = _mm256_setzero_si256();
    if (g + 1 < groups) {
      b = SplitEvenOdd(QuantizeGroup(x + (g + 1) * kQ8Group, &row.scales[g + 1], &sum1));
      row.offsets[g + 1] = 8 * sum1;
    }
    row.offsets[g] = 8 * sum0;
    int8_t* out = row.q + g * kQ8Group;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permute2x128_si256(a, b, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32),
                        _mm256_permute2x128_si256(a, b, 0x31));
  }
}

LITEQ_AVX2 void Int4Q8GemvAvx2(const WeightOnlyMatrix& w, const Int4Q8GemvArgs& a, size_t r_begin,
                               size_t r_end) {
  const RowLayout l(w);
  size_t r = r_begin;
  // Two weight rows at a time share the activation loads and overlap their
  // reductions; they are adjacent in memory, so the weights still stream in order.
  for (; r + 2 <= r_end; r += 2) {
    Prefetch(l, w.data + r * l.row_bytes, 2);
    for (size_t b = 0; b < a.batches; ++b) Rows<2>(w, l, a, r, b);
  }
  for (; r < r_end; ++r) {
    Prefetch(l, w.data + r * l.row_bytes, 1);
    for (size_t b = 0; b < a.batches; ++b) Rows<1>(w, l, a, r, b);
  }
}

}  // namespace liteq::runtime::internal

#else  // not x86: the dispatcher never calls these

namespace liteq::runtime::internal {
void QuantizeQ8ActivationsAvx2(const float* x, size_t depth, const Q8Row& row) {
  ReferenceQuantizeQ8Activations(x, depth, row);
}
void Int4Q8GemvAvx2(const WeightOnlyMatrix& w, const Int4Q8GemvArgs& a, size_t r_begin,
                    size_t r_end) {
  ReferenceInt4Q8Gemv(w, a, r_begin, r_end);
}
}  // namespace liteq::runtime::internal

#endif
