#include "runtime/kernels/quantized/attention_vnni.h"

#include <cstring>

#include "liteq/status.h"
#include "runtime/kernels/quantized/packed_int8.h"

namespace liteq::runtime::quantized {
namespace {

constexpr size_t kKeyGroup = 16;  // keys per vector (one per int32 lane)
constexpr size_t kValueQuad = 4;  // value rows per lane (bytes of one int32 lane)

size_t RoundUp(size_t n, size_t m) { return (n + m - 1) / m * m; }

}  // namespace

size_t VnniKeysBytes(size_t n, size_t head_dim) { return RoundUp(n, kKeyGroup) * head_dim; }
size_t VnniValuesBytes(size_t n, size_t head_dim) { return RoundUp(n, kValueQuad) * head_dim; }

void LayOutKeysVnni(const int8_t* keys, size_t ld, size_t n, size_t head_dim, int8_t* out) {
  const size_t vectors = head_dim / 4;  // per group
  for (size_t j = 0; j < RoundUp(n, kKeyGroup); ++j) {
    int8_t* lane = out + (j / kKeyGroup) * vectors * 64 + (j % kKeyGroup) * 4;
    for (size_t c = 0; c < vectors; ++c) {
      if (j < n) {
        std::memcpy(lane + c * 64, keys + j * ld + c * 4, 4);
      } else {
        std::memset(lane + c * 64, 0, 4);
      }
    }
  }
}

void LayOutValuesVnni(const int8_t* values, size_t ld, size_t n, size_t head_dim, int8_t* out) {
  for (size_t j = 0; j < RoundUp(n, kValueQuad); ++j) {
    int8_t* quad = out + (j / kValueQuad) * head_dim * 4 + j % kValueQuad;
    for (size_t d = 0; d < head_dim; ++d) quad[d * 4] = j < n ? values[j * ld + d] : int8_t{0};
  }
}

}  // namespace liteq::runtime::quantized

#if defined(__x86_64__) || defined(__i386__)
#include "runtime/kernels/quantized/avx512_intrinsics.h"

namespace liteq::runtime::quantized {
namespace {

// Key groups whose scores accumulate together: independent vpdpbusd chains.
constexpr size_t kGroupsAtOnce = 8;

// 4 bytes at p as one int32, shifted to uint8 (each byte + 128).
inline int32_t ShiftedWord(const int8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, sizeof(w));
  return static_cast<int32_t>(w ^ 0x80808080u);
}

// The scores of one query row with `groups` <= kGroupsAtOnce key groups.
template <size_t kGroups>
LITEQ_VNNI void QueryRowGroups(const int8_t* q, const int8_t* keys, size_t vectors, __m512i* out) {
  __m512i acc[kGroups];  // in registers (a fully unrolled local array)
#pragma GCC unroll 8
  for (size_t g = 0; g < kGroups; ++g) acc[g] = _mm512_setzero_si512();
  for (size_t c = 0; c < vectors; ++c) {
    const __m512i word = _mm512_set1_epi32(ShiftedWord(q + 4 * c));
#pragma GCC unroll 8
    for (size_t g = 0; g < kGroups; ++g) {
      DotAccumulate(acc[g], word, Load64(keys + (g * vectors + c) * 64));
    }
  }
#pragma GCC unroll 8
  for (size_t g = 0; g < kGroups; ++g) out[g] = acc[g];
}

// acc[b] += the products of one row quad (its 4 probabilities shifted, `word`) with
// the quad's kBlocks vectors of values.
template <size_t kBlocks>
LITEQ_VNNI inline void ProbValueStep(int32_t word, const int8_t* quad, __m512i (&acc)[kBlocks]) {
  const __m512i words = _mm512_set1_epi32(word);
#pragma GCC unroll 16
  for (size_t b = 0; b < kBlocks; ++b) DotAccumulate(acc[b], words, Load64(quad + b * 64));
}

// The probs x V sums for head_dim = 16 * kBlocks; two accumulator sets (even and odd
// row quads) halve the dependency chains.
template <size_t kBlocks>
LITEQ_VNNI void ProbValueBlocks(const int8_t* p, size_t n, const int8_t* values,
                                const int32_t* value_sums, int32_t* out) {
  constexpr size_t kQuadBytes = 16 * kBlocks * kValueQuad;
  // Named sets indexed by constants only, so they stay in registers (an array indexed
  // by q % 2 lived on the stack).
  __m512i even[kBlocks], odd[kBlocks];
#pragma GCC unroll 16
  for (size_t b = 0; b < kBlocks; ++b) even[b] = odd[b] = _mm512_setzero_si512();
  const size_t full = n / kValueQuad;
  size_t q = 0;
  if constexpr (kBlocks <= 8) {
    for (; q + 2 <= full; q += 2) {
      ProbValueStep<kBlocks>(ShiftedWord(p + q * kValueQuad), values + q * kQuadBytes, even);
      ProbValueStep<kBlocks>(ShiftedWord(p + (q + 1) * kValueQuad), values + (q + 1) * kQuadBytes,
                             odd);
    }
  }
  for (; q < full; ++q) {
    ProbValueStep<kBlocks>(ShiftedWord(p + q * kValueQuad), values + q * kQuadBytes, even);
  }
  if (full * kValueQuad < n) {  // the last, partial quad: its missing rows are zero values
    int8_t last[kValueQuad] = {};
    std::memcpy(last, p + full * kValueQuad, n - full * kValueQuad);
    ProbValueStep<kBlocks>(ShiftedWord(last), values + full * kQuadBytes, odd);
  }
#pragma GCC unroll 16
  for (size_t b = 0; b < kBlocks; ++b) {
    const __m512i sum = _mm512_add_epi32(even[b], odd[b]);
    const __m512i shift = _mm512_slli_epi32(_mm512_loadu_si512(value_sums + 16 * b), 7);
    _mm512_storeu_si512(out + 16 * b, _mm512_sub_epi32(sum, shift));
  }
}

}  // namespace

bool AttentionVnniSupported(size_t head_dim) {
  const bool shape =
      head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128 || head_dim == 256;
  // BestPackedInt8Dots() rather than the CPU check: LITEQ_INT8_DOTS=avx2 then runs
  // the other products too, which the tests use to cover them on a VNNI machine.
  return shape && BestPackedInt8Dots() == &PackedInt8DotsAvx512Vnni;
}

LITEQ_VNNI void QueryKeyDotsVnni(const int8_t* q, size_t ldq, size_t m, const int8_t* keys,
                                 const int32_t* key_sums, size_t n, size_t head_dim, int32_t* dots,
                                 size_t ld_dots) {
  const size_t vectors = head_dim / 4;
  const size_t groups = (n + kKeyGroup - 1) / kKeyGroup;
  for (size_t r = 0; r < m; ++r) {
    const int8_t* row = q + r * ldq;
    int32_t* out = dots + r * ld_dots;
    for (size_t g0 = 0; g0 < groups; g0 += kGroupsAtOnce) {
      __m512i acc[kGroupsAtOnce];
      const size_t count = groups - g0 < kGroupsAtOnce ? groups - g0 : kGroupsAtOnce;
      const int8_t* group_keys = keys + g0 * vectors * 64;
      if (count == kGroupsAtOnce) {
        QueryRowGroups<kGroupsAtOnce>(row, group_keys, vectors, acc);
      } else {
        for (size_t g = 0; g < count; ++g) {
          QueryRowGroups<1>(row, group_keys + g * vectors * 64, vectors, acc + g);
        }
      }
      for (size_t g = 0; g < count; ++g) {
        const size_t j0 = (g0 + g) * kKeyGroup;
        const size_t lanes = n - j0 < kKeyGroup ? n - j0 : kKeyGroup;
        const auto mask = static_cast<__mmask16>((1u << lanes) - 1);
        const __m512i shift = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(mask, key_sums + j0), 7);
        _mm512_mask_storeu_epi32(out + j0, mask, _mm512_sub_epi32(acc[g], shift));
      }
    }
  }
}

LITEQ_VNNI void ProbValueDotsVnni(const int8_t* p, size_t n, const int8_t* values,
                                  const int32_t* value_sums, size_t head_dim, int32_t* out) {
  switch (head_dim) {
    case 16:
      return ProbValueBlocks<1>(p, n, values, value_sums, out);
    case 32:
      return ProbValueBlocks<2>(p, n, values, value_sums, out);
    case 64:
      return ProbValueBlocks<4>(p, n, values, value_sums, out);
    case 128:
      return ProbValueBlocks<8>(p, n, values, value_sums, out);
    case 256:
      return ProbValueBlocks<16>(p, n, values, value_sums, out);
    default:
      LITEQ_CHECK(false);  // AttentionVnniSupported(head_dim) is the caller's check
  }
}

}  // namespace liteq::runtime::quantized

#else  // not x86: never called (AttentionVnniSupported() is false).

namespace liteq::runtime::quantized {

bool AttentionVnniSupported(size_t) { return false; }
void QueryKeyDotsVnni(const int8_t*, size_t, size_t, const int8_t*, const int32_t*, size_t, size_t,
                      int32_t*, size_t) {
  LITEQ_CHECK(false);
}
void ProbValueDotsVnni(const int8_t*, size_t, const int8_t*, const int32_t*, size_t, int32_t*) {
  LITEQ_CHECK(false);
}

}  // namespace liteq::runtime::quantized

#endif
