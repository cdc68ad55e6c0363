// Scalar references of weight_only_dot.h and the run-time choice of the AVX2 code.
#include "runtime/kernels/weight_only_dot.h"

namespace liteq::runtime {
namespace {

// q[r, d] as an int: int8, or the two's-complement nibble of element r * depth + d.
inline int WeightAt(const WeightOnlyMatrix& w, size_t e) {
  if (!w.int4) return static_cast<int8_t>(w.data[e]);
  const uint8_t byte = w.data[e / 2];
  const int nibble = (e % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
  return nibble >= 8 ? nibble - 16 : nibble;
}

bool UseAvx2() {
  static const bool use = internal::CpuHasAvx2Fma();
  return use;
}

}  // namespace

void ReferenceWeightOnlyGemv(const WeightOnlyMatrix& w, const WeightOnlyGemvArgs& a, size_t r_begin,
                             size_t r_end) {
  for (size_t b = 0; b < a.batches; ++b) {
    const float* x = a.x + b * a.ldx;
    for (size_t r = r_begin; r < r_end; ++r) {
      // Double sums: the reference's own rounding stays far below the tolerance.
      double sum = 0.0;
      for (size_t d = 0; d < w.depth; ++d) {
        const size_t e = r * w.depth + d;
        const float weight = static_cast<float>(WeightAt(w, e)) * w.scales[e / w.block];
        sum += static_cast<double>(x[d]) * static_cast<double>(weight);
      }
      if (a.bias != nullptr) sum += a.bias[r];
      a.out[b * a.ldo + r] = static_cast<float>(sum);
    }
  }
}

void ReferenceDequantizeWeightRows(const WeightOnlyMatrix& w, size_t r_begin, size_t r_end,
                                   float* dst) {
  for (size_t e = r_begin * w.depth; e < r_end * w.depth; ++e) {
    *dst++ = static_cast<float>(WeightAt(w, e)) * w.scales[e / w.block];
  }
}

void WeightOnlyGemv(const WeightOnlyMatrix& w, const WeightOnlyGemvArgs& a, size_t r_begin,
                    size_t r_end) {
  if (r_begin >= r_end) return;
  if (UseAvx2() && internal::WeightOnlyGemvAvx2(w, a, r_begin, r_end)) return;
  ReferenceWeightOnlyGemv(w, a, r_begin, r_end);
}

void DequantizeWeightRows(const WeightOnlyMatrix& w, size_t r_begin, size_t r_end, float* dst) {
  if (r_begin >= r_end) return;
  if (UseAvx2() && internal::DequantizeWeightRowsAvx2(w, r_begin, r_end, dst)) return;
  ReferenceDequantizeWeightRows(w, r_begin, r_end, dst);
}

bool WeightOnlyDotUsesAvx2() { return UseAvx2(); }

}  // namespace liteq::runtime
