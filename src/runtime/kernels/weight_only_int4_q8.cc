// Scalar reference of weight_only_int4_q8.h (the specification) and the run-time
// choice of the AVX2 code.
#include "runtime/kernels/weight_only_int4_q8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace liteq::runtime {
namespace {

constexpr size_t kPiece = 2 * kQ8Group;  // activations per 32 weight bytes
constexpr size_t kLanes = 8;             // float accumulators (groups g % 8)

size_t RoundUp(size_t n, size_t m) { return (n + m - 1) / m * m; }

bool UseAvx2() {
  static const bool use = internal::CpuHasAvx2Fma();
  return use;
}

// Position of value d of a row in Q8Row::q (the header's layout).
size_t StoredIndex(size_t d) {
  const size_t piece = d / kPiece * kPiece, i = d % kPiece;
  return piece + (i % 2 == 0 ? i / 2 : kQ8Group + i / 2);
}

// The weight q_w[r, d] (two's-complement nibble, low nibble first).
int WeightAt(const WeightOnlyMatrix& w, size_t r, size_t d) {
  const size_t e = r * w.depth + d;
  const uint8_t byte = w.data[e / 2];
  const int nibble = (e % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
  return nibble >= 8 ? nibble - 16 : nibble;
}

}  // namespace

bool Int4Q8Supports(const WeightOnlyMatrix& w) {
  return w.int4 && w.depth > 0 && w.depth % kQ8Group == 0 && w.block > 0 &&
         w.block % kQ8Group == 0 && w.depth % w.block == 0;
}

size_t Q8RowBytes(size_t depth) { return RoundUp(depth, kLanes * kQ8Group); }
size_t Q8RowGroups(size_t depth) { return RoundUp(depth / kQ8Group, kLanes); }

size_t Q8ScratchBytes(size_t depth, size_t rows) {
  return rows * (RoundUp(Q8RowBytes(depth), 64) + Q8RowGroups(depth) * 8);
}

Q8Row Q8RowInScratch(uint8_t* scratch, size_t depth, size_t rows, size_t i) {
  const size_t q_bytes = RoundUp(Q8RowBytes(depth), 64), groups = Q8RowGroups(depth);
  Q8Row row;
  row.q = reinterpret_cast<int8_t*>(scratch + i * q_bytes);
  uint8_t* tables = scratch + rows * q_bytes + i * groups * 8;
  row.scales = reinterpret_cast<float*>(tables);
  row.offsets = reinterpret_cast<int32_t*>(tables + groups * 4);
  return row;
}

void ReferenceQuantizeQ8Activations(const float* x, size_t depth, const Q8Row& row) {
  std::memset(row.q, 0, Q8RowBytes(depth));
  const size_t groups = depth / kQ8Group;
  for (size_t g = groups; g < Q8RowGroups(depth); ++g) {
    row.scales[g] = 0.0f;
    row.offsets[g] = 0;
  }
  for (size_t g = 0; g < groups; ++g) {
    const float* xg = x + g * kQ8Group;
    float amax = 0.0f;
    bool finite = true;
    for (size_t i = 0; i < kQ8Group; ++i) {
      finite = finite && std::isfinite(xg[i]);
      amax = std::max(amax, std::fabs(xg[i]));
    }
    int32_t sum = 0;
    if (!finite) {
      row.scales[g] = std::numeric_limits<float>::quiet_NaN();
    } else if (amax == 0.0f || !std::isfinite(127.0f / amax)) {
      row.scales[g] = 0.0f;  // zero, or so small that 127 / amax overflows
    } else {
      row.scales[g] = amax / 127.0f;
      const float inverse = 127.0f / amax;
      for (size_t i = 0; i < kQ8Group; ++i) {
        // |x * inverse| <= 127 up to one rounding, so the cast is in range.
        const float v = std::clamp(std::nearbyint(xg[i] * inverse), -127.0f, 127.0f);
        const auto q = static_cast<int8_t>(v);
        row.q[StoredIndex(g * kQ8Group + i)] = q;
        sum += q;
      }
    }
    row.offsets[g] = 8 * sum;
  }
}

void ReferenceInt4Q8Gemv(const WeightOnlyMatrix& w, const Int4Q8GemvArgs& a, size_t r_begin,
                         size_t r_end) {
  const size_t groups = w.depth / kQ8Group, blocks = w.depth / w.block;
  for (size_t b = 0; b < a.batches; ++b) {
    const Q8Row& x = a.x[b];
    for (size_t r = r_begin; r < r_end; ++r) {
      float acc[kLanes] = {};
      for (size_t g = 0; g < groups; ++g) {
        int32_t dot = 0;
        for (size_t i = g * kQ8Group; i < (g + 1) * kQ8Group; ++i) {
          dot += WeightAt(w, r, i) * x.q[StoredIndex(i)];
        }
        const float c = w.scales[r * blocks + g * kQ8Group / w.block] * x.scales[g];
        acc[g % kLanes] = std::fma(static_cast<float>(dot), c, acc[g % kLanes]);
      }
      float sum = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
      if (a.bias != nullptr) sum += a.bias[r];
      a.out[b * a.ldo + r] = sum;
    }
  }
}

void QuantizeQ8Activations(const float* x, size_t depth, const Q8Row& row) {
  if (UseAvx2()) {
    internal::QuantizeQ8ActivationsAvx2(x, depth, row);
  } else {
    ReferenceQuantizeQ8Activations(x, depth, row);
  }
}

void Int4Q8Gemv(const WeightOnlyMatrix& w, const Int4Q8GemvArgs& a, size_t r_begin, size_t r_end) {
  if (r_begin >= r_end) return;
  if (UseAvx2()) {
    internal::Int4Q8GemvAvx2(w, a, r_begin, r_end);
  } else {
    ReferenceInt4Q8Gemv(w, a, r_begin, r_end);
  }
}

}  // namespace liteq::runtime
