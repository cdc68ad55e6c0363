#include "quant/static_constants.h"

#include <algorithm>
#include <vector>

#include "quant/quant_params.h"
#include "quant/rewrite_util.h"

namespace liteq::quant {

Result<SmallConstant> QuantizeWeightConstant(graph::Model& model, const graph::Buffer& original,
                                             const graph::Tensor& t, bool per_tensor) {
  const int64_t count = NumElements(t.shape);
  const int64_t rows = t.shape.empty() ? 1 : t.shape[0];
  const WeightLayout layout{rows, count / std::max<int64_t>(rows, 1), per_tensor, 8, 0};
  SmallConstant out;
  LITEQ_ASSIGN_OR_RETURN(out.params.scale, StreamedSymmetricScales(original, layout, t.name));
  out.params.zero_point.assign(out.params.scale.size(), 0);
  out.buffer = model.AddBuffer(LazySymmetricWeights(original, layout, t.name));
  out.bytes = static_cast<size_t>(count);
  return out;
}

Result<SmallConstant> QuantizeSmallConstant(graph::Model& model, const graph::Buffer& original,
                                            int64_t count, const std::string& name,
                                            graph::DType dtype, bool symmetric,
                                            const graph::QuantParams* params) {
  if (original.size != graph::TensorBytes(graph::DType::kFloat32, count)) {
    return InvalidArgumentError("static quantization: constant '" + name + "' has " +
                                std::to_string(original.size) + " bytes, not float32 of its shape");
  }
  LITEQ_ASSIGN_OR_RETURN(std::vector<float> values, ReadFloats(original));
  QuantParams p;
  if (params != nullptr) {
    if (params->scale.size() != 1 || params->zero_point.size() != 1 || !(params->scale[0] > 0)) {
      return InvalidArgumentError("constant '" + name + "': needs per-tensor parameters");
    }
    p = QuantParams{params->scale[0], static_cast<int32_t>(params->zero_point[0])};
  } else {
    float lo = 0.0f, hi = 0.0f;
    for (float v : values) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    Result<QuantParams> chosen = dtype == graph::DType::kInt8 && !symmetric
                                     ? ChooseInt8ActivationParams(lo, hi)
                                     : ChooseInt16ActivationParams(lo, hi);
    if (!chosen.ok()) return chosen.status().WithContext("constant '" + name + "'");
    p = *chosen;
  }
  SmallConstant out;
  out.params = TensorParams(p);
  if (dtype == graph::DType::kInt8) {
    std::vector<int8_t> q(values.size());
    QuantizeToInt8(values, p, q);
    out.buffer = model.AddBuffer(graph::Buffer::FromValues(q));
  } else {
    std::vector<int16_t> q(values.size());
    QuantizeToInt16(values, p, q);
    out.buffer = model.AddBuffer(graph::Buffer::FromValues(q));
  }
  out.bytes = graph::TensorBytes(dtype, count);
  return out;
}

Result<graph::Tensor> QuantizeConstantWith(graph::Model& model, const graph::Tensor& t,
                                           const graph::QuantParams& params, graph::DType dtype) {
  LITEQ_ASSIGN_OR_RETURN(SmallConstant sc,
                         QuantizeSmallConstant(model, model.buffers[t.buffer], NumElements(t.shape),
                                               t.name, dtype, false, &params));
  graph::Tensor q = t;
  q.dtype = dtype;
  q.buffer = sc.buffer;
  q.quant = sc.params;
  return q;
}

Result<graph::Tensor> QuantizeFcBias(graph::Model& model, const graph::Tensor& bias,
                                     float input_scale, const std::vector<float>& weight_scales,
                                     graph::DType activations) {
  LITEQ_ASSIGN_OR_RETURN(std::vector<float> values, ReadFloats(model.buffers[bias.buffer]));
  graph::Tensor q = bias;
  q.name += "/quantized";
  q.quant.scale.clear();
  for (float s : weight_scales) q.quant.scale.push_back(BiasScale(input_scale, s));
  q.quant.zero_point.assign(q.quant.scale.size(), 0);
  if (activations == graph::DType::kInt8) {
    LITEQ_ASSIGN_OR_RETURN(std::vector<int32_t> b,
                           QuantizeBiasInt32(values, input_scale, weight_scales));
    q.dtype = graph::DType::kInt32;
    q.buffer = model.AddBuffer(graph::Buffer::FromValues(b));
  } else {
    LITEQ_ASSIGN_OR_RETURN(std::vector<int64_t> b,
                           QuantizeBiasInt64(values, input_scale, weight_scales));
    q.dtype = graph::DType::kInt64;
    q.buffer = model.AddBuffer(graph::Buffer::FromValues(b));
  }
  return q;
}

Result<QuantizedBuffer> QuantizeConstantBuffer(graph::Model& model, const graph::Tensor& t,
                                               ConstScheme scheme, graph::DType act_dtype,
                                               QuantizedBufferCache& cache, StaticReport& report) {
  const auto key = std::make_pair(t.buffer, scheme);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const graph::Buffer original = model.buffers[t.buffer];
  const int64_t count = NumElements(t.shape);
  if (original.size != graph::TensorBytes(graph::DType::kFloat32, count)) {
    return InvalidArgumentError("static quantization: constant '" + t.name + "' has " +
                                std::to_string(original.size) + " bytes, not float32 of its shape");
  }
  QuantizedBuffer qb;
  if (scheme == ConstScheme::kWeightPerChannel || scheme == ConstScheme::kWeightPerTensor ||
      (scheme == ConstScheme::kTable && act_dtype == graph::DType::kInt8)) {
    LITEQ_ASSIGN_OR_RETURN(
        SmallConstant w,
        QuantizeWeightConstant(model, original, t, scheme != ConstScheme::kWeightPerChannel));
    qb = QuantizedBuffer{w.buffer, graph::DType::kInt8, w.params};
    report.int_weight_bytes += w.bytes;
  } else {
    // Small operands (norm weights, scalars, int16 tables): quantized now.
    LITEQ_ASSIGN_OR_RETURN(SmallConstant sc,
                           QuantizeSmallConstant(model, original, count, t.name, act_dtype,
                                                 scheme == ConstScheme::kTable));
    qb = QuantizedBuffer{sc.buffer, act_dtype, sc.params};
    report.int_weight_bytes += sc.bytes;
  }
  report.float_weight_bytes += original.size;
  cache[key] = qb;
  return qb;
}

}  // namespace liteq::quant
