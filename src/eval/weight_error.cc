// Weight quantization error (weight_error.h).
#include "eval/weight_error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

namespace liteq::eval {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string ReferenceName(const std::string& name) {
  for (const char* suffix : {".int8", ".int4", ".int16"}) {
    if (EndsWith(name, suffix)) return name.substr(0, name.size() - std::strlen(suffix));
  }
  return name;
}

double Snr(double signal2, double error2) {
  if (error2 == 0.0) return std::numeric_limits<double>::infinity();
  if (signal2 == 0.0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal2 / error2);
}

// The integer value of element i of a constant of `dtype`.
int32_t IntegerAt(const uint8_t* data, graph::DType dtype, int64_t i) {
  switch (dtype) {
    case graph::DType::kInt8:
      return static_cast<int8_t>(data[i]);
    case graph::DType::kInt16: {
      int16_t v;
      std::memcpy(&v, data + 2 * i, 2);
      return v;
    }
    default: {  // kInt4: element 2k in the low nibble, 2k + 1 in the high one
      const uint8_t byte = data[i / 2];
      const int nibble = (i % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
      return nibble >= 8 ? nibble - 16 : nibble;
    }
  }
}

Result<WeightError> CompareOne(const graph::Model& qm, const graph::Tensor& q,
                               const graph::Model& rm, const graph::Tensor& r) {
  std::vector<uint8_t> q_scratch, r_scratch;
  LITEQ_ASSIGN_OR_RETURN(auto q_bytes, qm.buffers[q.buffer].Materialize(q_scratch));
  LITEQ_ASSIGN_OR_RETURN(auto r_bytes, rm.buffers[r.buffer].Materialize(r_scratch));
  const int64_t n = q.num_elements();
  if (q_bytes.size() < graph::TensorBytes(q.dtype, n) || r_bytes.size() < sizeof(float) * n) {
    return InvalidArgumentError("constant '" + q.name + "' is shorter than its shape");
  }
  const graph::QuantParams& p = q.quant;
  const int axis = p.per_axis() ? p.quantized_dimension : 0;
  if (p.per_axis() && (axis < 0 || static_cast<size_t>(axis) >= q.shape.size())) {
    return InvalidArgumentError("constant '" + q.name + "': bad quantized dimension");
  }
  // Per-tensor scales: channels are the rows (dim 0), or the one value of a scalar.
  const int64_t channels = q.shape.empty() ? 1 : std::max<int64_t>(q.shape[axis], 1);
  if (p.per_axis() && static_cast<int64_t>(p.scale.size()) != channels) {
    return InvalidArgumentError("constant '" + q.name + "': " + std::to_string(p.scale.size()) +
                                " scales for " + std::to_string(channels) + " channels");
  }
  int64_t inner = 1;  // elements per step of the channel index
  for (size_t d = static_cast<size_t>(axis) + 1; d < q.shape.size(); ++d) inner *= q.shape[d];
  std::vector<double> signal2(channels, 0.0), error2(channels, 0.0);
  WeightError e;
  e.name = q.name;
  e.reference = r.name;
  e.dtype = graph::DTypeName(q.dtype);
  e.values = n;
  // int4 blocks are stored as per-row scales of a [blocks, block] reshape of the
  // [rows, cols] weight (quant/quantizer.h).
  const bool blocks = p.per_axis() && q.shape.size() == 2 && q.shape != r.shape;
  e.granularity = !p.per_axis() ? "tensor"
                  : blocks      ? "block " + std::to_string(q.shape[1])
                                : "channel";
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = (i / inner) % channels;
    const size_t k = p.per_axis() ? static_cast<size_t>(c) : 0;
    const int64_t zp = k < p.zero_point.size() ? p.zero_point[k] : 0;
    const double dequantized = static_cast<double>(p.scale[k]) * (IntegerAt(q_bytes.data(), q.dtype, i) - zp);
    float ref;
    std::memcpy(&ref, r_bytes.data() + sizeof(float) * i, sizeof(float));
    const double err = dequantized - ref;
    signal2[c] += static_cast<double>(ref) * ref;
    error2[c] += err * err;
    e.max_abs_error = std::max(e.max_abs_error, std::abs(err));
  }
  double s2 = 0, e2 = 0;
  std::vector<double> channel_snr;
  for (int64_t c = 0; c < channels; ++c) {
    s2 += signal2[c];
    e2 += error2[c];
    if (signal2[c] > 0) channel_snr.push_back(Snr(signal2[c], error2[c]));
  }
  e.rmse = n > 0 ? std::sqrt(e2 / static_cast<double>(n)) : 0.0;
  e.snr_db = Snr(s2, e2);
  if (channel_snr.empty()) {
    e.channel_snr_db = e.snr_db;
  } else {
    std::nth_element(channel_snr.begin(), channel_snr.begin() + channel_snr.size() / 2,
                     channel_snr.end());
    e.channel_snr_db = channel_snr[channel_snr.size() / 2];
  }
  return e;
}

bool IsQuantizedConstant(const graph::Model& m, const graph::Tensor& t) {
  return t.buffer != 0 && t.buffer < m.buffers.size() && !t.quant.empty() &&
         (t.dtype == graph::DType::kInt8 || t.dtype == graph::DType::kInt4 ||
          t.dtype == graph::DType::kInt16);
}

}  // namespace

Result<std::vector<WeightError>> CompareWeights(const graph::Model& quantized,
                                                const graph::Model& reference) {
  // Float constants of the reference by subgraph name, then tensor name.
  std::map<std::string, std::map<std::string, const graph::Tensor*>> floats;
  for (const graph::Subgraph& sg : reference.subgraphs) {
    for (const graph::Tensor& t : sg.tensors) {
      if (t.dtype == graph::DType::kFloat32 && t.buffer != 0 && t.buffer < reference.buffers.size())
        floats[sg.name].emplace(t.name, &t);
    }
  }
  std::vector<WeightError> out;
  std::set<uint32_t> seen;
  for (const graph::Subgraph& sg : quantized.subgraphs) {
    auto sub = floats.find(sg.name);
    if (sub == floats.end()) continue;
    for (const graph::Tensor& t : sg.tensors) {
      if (!IsQuantizedConstant(quantized, t) || seen.count(t.buffer)) continue;
      auto it = sub->second.find(ReferenceName(t.name));
      if (it == sub->second.end() || it->second->num_elements() != t.num_elements()) continue;
      seen.insert(t.buffer);
      LITEQ_ASSIGN_OR_RETURN(WeightError e, CompareOne(quantized, t, reference, *it->second));
      out.push_back(std::move(e));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const WeightError& a, const WeightError& b) {
    return a.worst_snr_db() < b.worst_snr_db();
  });
  return out;
}

nlohmann::json WeightErrorsToJson(const std::vector<WeightError>& errors, size_t top) {
  auto number = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); };
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < errors.size() && (top == 0 || i < top); ++i) {
    const WeightError& e = errors[i];
    rows.push_back({{"name", e.name},
                    {"reference", e.reference},
                    {"dtype", e.dtype},
                    {"granularity", e.granularity},
                    {"values", e.values},
                    {"rmse", e.rmse},
                    {"max_abs_error", e.max_abs_error},
                    {"snr_db", number(e.snr_db)},
                    {"channel_snr_db", number(e.channel_snr_db)}});
  }
  return rows;
}

std::string FormatWeightErrors(const std::vector<WeightError>& errors, size_t top) {
  std::string s = "weights (" + std::to_string(errors.size()) + " quantized constants, worst first)\n";
  char line[512];
  std::snprintf(line, sizeof(line), "%4s %-52s %-5s %-9s %10s %10s %8s %8s\n", "rank", "weight",
                "dtype", "scales", "rmse", "max err", "SNR dB", "chan dB");
  s += line;
  for (size_t i = 0; i < errors.size() && (top == 0 || i < top); ++i) {
    const WeightError& e = errors[i];
    std::snprintf(line, sizeof(line), "%4zu %-52s %-5s %-9s %10.3g %10.3g %8.2f %8.2f\n", i + 1,
                  e.name.c_str(), e.dtype.c_str(), e.granularity.c_str(), e.rmse, e.max_abs_error,
                  e.snr_db, e.channel_snr_db);
    s += line;
  }
  return s;
}

}  // namespace liteq::eval
