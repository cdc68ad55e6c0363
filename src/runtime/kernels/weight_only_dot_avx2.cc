// AVX2 + FMA weight-only products (weight_only_dot.h). Compiled for generic x86-64:
// only the functions marked LITEQ_AVX2 use AVX2/FMA instructions, and they are called
// only after CpuHasAvx2Fma() (run-time dispatch), so the binary runs on any x86-64.
//
// int8: 8 weights per step are sign-extended to int32 lanes (vpmovsxbd), converted
// to float (exact) and multiplied into the row's block accumulators.
// int4: 8 packed bytes (16 weights) per step are sign-extended to int32 lanes; lane j
// holds the low nibble (element 2j) and the high nibble (element 2j + 1) of byte j.
// The activations are read reordered the same way (each group of 16 as its 8 even
// then its 8 odd values), built once per call.
// Each block's sum is multiplied by its scale and added to the row total.
#include <cstring>
#include <vector>

#include "runtime/kernels/weight_only_dot.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define LITEQ_AVX2 __attribute__((target("avx2,fma")))

namespace liteq::runtime::internal {
namespace {

LITEQ_AVX2 inline __m256i Load8AsInt32(const uint8_t* p) {
  int64_t bytes;
  std::memcpy(&bytes, p, sizeof(bytes));  // unaligned load without aliasing UB
  return _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes));
}

LITEQ_AVX2 inline float SumLanes(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// One weight row at a time: on the AMD EPYC (AVX2) measured, interleaving the streams of
// several rows kept the hardware prefetcher from reaching memory speed (the int8 GEMV
// ran at half the bandwidth with 4 rows per tile); four accumulators per row hide the
// FMA latency instead.

// Row r of int8 weights against x. Blocks of any length: 32 weights per step, then 8,
// then scalar.
LITEQ_AVX2 float Int8Row(const WeightOnlyMatrix& w, const float* x, size_t r) {
  const size_t depth = w.depth, block = w.block, blocks = depth / block;
  const uint8_t* q = w.data + r * depth;
  const float* scale = w.scales + r * blocks;
  __m256 total = _mm256_setzero_ps();
  float tail_total = 0.0f;
  for (size_t k = 0; k < blocks; ++k) {
    const size_t d0 = k * block, end = d0 + block;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t d = d0;
    for (; d + 32 <= end; d += 32) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + d), _mm256_cvtepi32_ps(Load8AsInt32(q + d)), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + d + 8), _mm256_cvtepi32_ps(Load8AsInt32(q + d + 8)),
                           a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + d + 16),
                           _mm256_cvtepi32_ps(Load8AsInt32(q + d + 16)), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + d + 24),
                           _mm256_cvtepi32_ps(Load8AsInt32(q + d + 24)), a3);
    }
    for (; d + 8 <= end; d += 8) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + d), _mm256_cvtepi32_ps(Load8AsInt32(q + d)), a0);
    }
    const float s = scale[k];
    const __m256 sum = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    total = _mm256_fmadd_ps(sum, _mm256_set1_ps(s), total);
    if (d < end) {
      float t = 0.0f;
      for (; d < end; ++d) t += x[d] * static_cast<float>(static_cast<int8_t>(q[d]));
      tail_total += t * s;
    }
  }
  return SumLanes(total) + tail_total;
}

// Row r of int4 weights against the reordered activations xp (file comment). Lane j of
// a sign-extended byte s = 16 * q_high + u_low gives q_low * 2^28 = s << 28 and
// q_high * 16 = s & ~15: one shift and one AND per 16 weights (vector shifts issue on
// a single port of the CPUs measured and limited the kernel; the exact powers of two
// are taken out with the block scale). |x| would have to exceed 1e29 for the scaled
// products to overflow where the unscaled ones do not.
// Requires depth and block to be multiples of 16.
LITEQ_AVX2 float Int4Row(const WeightOnlyMatrix& w, const float* xp, size_t r) {
  const size_t depth = w.depth, block = w.block, blocks = depth / block;
  const uint8_t* q = w.data + r * depth / 2;
  const float* scale = w.scales + r * blocks;
  const __m256i high_mask = _mm256_set1_epi32(~15);
  __m256 even_total = _mm256_setzero_ps(), odd_total = even_total;
  for (size_t k = 0; k < blocks; ++k) {
    const size_t d0 = k * block, end = d0 + block;
    __m256 e0 = _mm256_setzero_ps(), e1 = e0, o0 = e0, o1 = e0;
    size_t d = d0;
    for (; d + 32 <= end; d += 32) {
      const __m256i s0 = Load8AsInt32(q + d / 2), s1 = Load8AsInt32(q + d / 2 + 8);
      e0 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + d), _mm256_cvtepi32_ps(_mm256_slli_epi32(s0, 28)),
                           e0);
      o0 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + d + 8),
                           _mm256_cvtepi32_ps(_mm256_and_si256(s0, high_mask)), o0);
      e1 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + d + 16),
                           _mm256_cvtepi32_ps(_mm256_slli_epi32(s1, 28)), e1);
      o1 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + d + 24),
                           _mm256_cvtepi32_ps(_mm256_and_si256(s1, high_mask)), o1);
    }
    if (d < end) {  // 16 left
      const __m256i s0 = Load8AsInt32(q + d / 2);
      e0 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + d), _mm256_cvtepi32_ps(_mm256_slli_epi32(s0, 28)),
                           e0);
      o0 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + d + 8),
                           _mm256_cvtepi32_ps(_mm256_and_si256(s0, high_mask)), o0);
    }
    const __m256 s = _mm256_set1_ps(scale[k]);
    even_total = _mm256_fmadd_ps(_mm256_add_ps(e0, e1), s, even_total);
    odd_total = _mm256_fmadd_ps(_mm256_add_ps(o0, o1), s, odd_total);
  }
  return SumLanes(_mm256_fmadd_ps(even_total, _mm256_set1_ps(0x1p-28f),
                                  _mm256_mul_ps(odd_total, _mm256_set1_ps(0x1p-4f))));
}

// Int4Row for blocks of 32 (one 16-byte step per block), two blocks per iteration so
// the block totals form four independent FMA chains.
LITEQ_AVX2 float Int4RowBlock32(const WeightOnlyMatrix& w, const float* xp, size_t r) {
  const size_t depth = w.depth, blocks = depth / 32;
  const uint8_t* q = w.data + r * depth / 2;
  const float* scale = w.scales + r * blocks;
  const __m256i high_mask = _mm256_set1_epi32(~15);
  __m256 even0 = _mm256_setzero_ps(), even1 = even0, odd0 = even0, odd1 = even0;
  auto block = [&](size_t k, __m256& even_total, __m256& odd_total) LITEQ_AVX2 {
    const float* x = xp + k * 32;
    const __m256i s0 = Load8AsInt32(q + k * 16), s1 = Load8AsInt32(q + k * 16 + 8);
    const __m256 e = _mm256_fmadd_ps(
        _mm256_loadu_ps(x + 16), _mm256_cvtepi32_ps(_mm256_slli_epi32(s1, 28)),
        _mm256_mul_ps(_mm256_loadu_ps(x), _mm256_cvtepi32_ps(_mm256_slli_epi32(s0, 28))));
    const __m256 o = _mm256_fmadd_ps(
        _mm256_loadu_ps(x + 24), _mm256_cvtepi32_ps(_mm256_and_si256(s1, high_mask)),
        _mm256_mul_ps(_mm256_loadu_ps(x + 8), _mm256_cvtepi32_ps(_mm256_and_si256(s0, high_mask))));
    const __m256 sv = _mm256_set1_ps(scale[k]);
    even_total = _mm256_fmadd_ps(e, sv, even_total);
    odd_total = _mm256_fmadd_ps(o, sv, odd_total);
  };
  size_t k = 0;
  for (; k + 2 <= blocks; k += 2) {
    block(k, even0, odd0);
    block(k + 1, even1, odd1);
  }
  if (k < blocks) block(k, even0, odd0);
  return SumLanes(
      _mm256_fmadd_ps(_mm256_add_ps(even0, even1), _mm256_set1_ps(0x1p-28f),
                      _mm256_mul_ps(_mm256_add_ps(odd0, odd1), _mm256_set1_ps(0x1p-4f))));
}

// Each group of 16 activations as its 8 even then its 8 odd elements.
void ReorderEvenOdd(const float* x, size_t depth, float* xp) {
  for (size_t g = 0; g < depth; g += 16) {
    for (size_t j = 0; j < 8; ++j) {
      xp[g + j] = x[g + 2 * j];
      xp[g + 8 + j] = x[g + 2 * j + 1];
    }
  }
}

}  // namespace

bool CpuHasAvx2Fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

LITEQ_AVX2 bool WeightOnlyGemvAvx2(const WeightOnlyMatrix& w, const WeightOnlyGemvArgs& a,
                                   size_t r_begin, size_t r_end) {
  if (w.block == 0 || w.depth % w.block != 0) return false;
  if (w.int4 && (w.depth % 16 != 0 || w.block % 16 != 0)) return false;
  // Per thread: FULLY_CONNECTED splits rows across the pool and every task reorders
  // the (small) activation rows for itself.
  thread_local std::vector<float> reordered;
  const float* xs = a.x;
  size_t ldx = a.ldx;
  if (w.int4) {
    if (reordered.size() < a.batches * w.depth) reordered.resize(a.batches * w.depth);
    for (size_t b = 0; b < a.batches; ++b) {
      ReorderEvenOdd(a.x + b * a.ldx, w.depth, reordered.data() + b * w.depth);
    }
    xs = reordered.data();
    ldx = w.depth;
  }
  // Rows outer, activation rows inner: a weight row is read from memory once and
  // from L1 for the other activation rows.
  for (size_t r = r_begin; r < r_end; ++r) {
    for (size_t b = 0; b < a.batches; ++b) {
      const float* x = xs + b * ldx;
      float sum;
      if (!w.int4) {
        sum = Int8Row(w, x, r);
      } else if (w.block == 32) {
        sum = Int4RowBlock32(w, x, r);
      } else {
        sum = Int4Row(w, x, r);
      }
      a.out[b * a.ldo + r] = a.bias != nullptr ? sum + a.bias[r] : sum;
    }
  }
  return true;
}

LITEQ_AVX2 bool DequantizeWeightRowsAvx2(const WeightOnlyMatrix& w, size_t r_begin, size_t r_end,
                                         float* dst) {
  if (w.block == 0 || w.depth % w.block != 0) return false;
  if (w.int4 && w.block % 2 != 0) return false;  // blocks must start on whole bytes
  const size_t first = r_begin * w.depth, count = (r_end - r_begin) * w.depth;
  for (size_t b = 0; b < count; b += w.block) {
    const size_t e0 = first + b;
    const float s = w.scales[e0 / w.block];
    const __m256 sv = _mm256_set1_ps(s);
    float* out = dst + b;
    size_t i = 0;
    if (w.int4) {
      const uint8_t* bytes = w.data + e0 / 2;
      for (; i + 16 <= w.block; i += 16) {
        const __m256i v = Load8AsInt32(bytes + i / 2);
        const __m256 lo =
            _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srai_epi32(_mm256_slli_epi32(v, 28), 28)), sv);
        const __m256 hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srai_epi32(v, 4)), sv);
        // lanes are elements (2j, 2j + 1) of byte j: interleave back to memory order.
        const __m256 a = _mm256_unpacklo_ps(lo, hi), c = _mm256_unpackhi_ps(lo, hi);
        _mm256_storeu_ps(out + i, _mm256_permute2f128_ps(a, c, 0x20));
        _mm256_storeu_ps(out + i + 8, _mm256_permute2f128_ps(a, c, 0x31));
      }
      for (; i < w.block; ++i) {
        const uint8_t byte = bytes[i / 2];
        const int nibble = (i % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
        out[i] = static_cast<float>(nibble >= 8 ? nibble - 16 : nibble) * s;
      }
    } else {
      const uint8_t* q = w.data + e0;
      for (; i + 8 <= w.block; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_cvtepi32_ps(Load8AsInt32(q + i)), sv));
      }
      for (; i < w.block; ++i) out[i] = static_cast<float>(static_cast<int8_t>(q[i])) * s;
    }
  }
  return true;
}

}  // namespace liteq::runtime::internal

#else  // not x86: the reference code runs

namespace liteq::runtime::internal {
bool CpuHasAvx2Fma() { return false; }
bool WeightOnlyGemvAvx2(const WeightOnlyMatrix&, const WeightOnlyGemvArgs&, size_t, size_t) {
  return false;
}
bool DequantizeWeightRowsAvx2(const WeightOnlyMatrix&, size_t, size_t, float*) { return false; }
}  // namespace liteq::runtime::internal

#endif
