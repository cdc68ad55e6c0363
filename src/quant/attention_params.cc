#include "quant/attention_params.h"

#include <algorithm>
#include <cmath>

#include "quant/quant_params.h"
#include "quant/rewrite_util.h"

namespace liteq::quant {
namespace {

double ZeroPoint(const graph::QuantParams& q) {
  return q.zero_point.empty() ? 0.0 : static_cast<double>(q.zero_point[0]);
}

}  // namespace

graph::QuantParams SaturatingMaskParams(std::span<const MaskedAdd> adds, int32_t qmin, int32_t qmax,
                                        bool int8) {
  const int32_t zero_point = int8 ? qmax : 0;
  float scale = 0.0f;
  for (const MaskedAdd& add : adds) {
    const graph::QuantParams& out = add.sum;
    scale = std::max(scale, out.scale[0]);
    if (!add.other) continue;
    const graph::QuantParams& other = *add.other;
    const double other_max = (qmax - ZeroPoint(other)) * other.scale[0];
    const double out_min = (qmin - ZeroPoint(out)) * out.scale[0];
    const double saturating = (other_max - out_min + out.scale[0]) / (zero_point - qmin);
    scale = std::max(scale, static_cast<float>(saturating * (1 + 1e-6)));
  }
  graph::QuantParams q;
  if (scale > 0.0f) {
    q.scale = {scale};
    q.zero_point = {zero_point};
  }
  return q;
}

Result<graph::QuantParams> MaskedScoresParams(const ActivationRange& r, int64_t keys,
                                              const std::string& name) {
  constexpr double kHiddenKeyMargin = 13.0;
  const double span = std::log(static_cast<double>(std::max<int64_t>(keys, 1))) + kHiddenKeyMargin;
  const float lo = std::min(r.min, static_cast<float>(r.max - span));
  Result<QuantParams> p = ChooseInt8ActivationParams(lo, r.max);
  if (!p.ok()) return p.status().WithContext("tensor '" + name + "'");
  return TensorParams(*p);
}

}  // namespace liteq::quant
