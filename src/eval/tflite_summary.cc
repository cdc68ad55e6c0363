#include "eval/tflite_summary.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace liteq::eval {
namespace {

using graph::DType;
using graph::OpCode;

bool IsFloat(DType t) { return t == DType::kFloat32 || t == DType::kFloat16; }

// Index-like dtypes (shapes, positions, indices, masks) are not an op's main operands.
bool IsIndexLike(DType t) { return t == DType::kInt32 || t == DType::kInt64 || t == DType::kBool; }

bool IsConversion(OpCode op) {
  return op == OpCode::kQuantize || op == OpCode::kDequantize || op == OpCode::kCast;
}

std::string SubgraphName(const graph::Subgraph& sg, size_t index) {
  return sg.name.empty() ? "subgraph" + std::to_string(index) : sg.name;
}

// Per subgraph: for each tensor, the constant it is the DEQUANTIZE of (-1 if none).
std::vector<int32_t> DequantizedConstants(const graph::Model& model, const graph::Subgraph& sg) {
  std::vector<int32_t> source(sg.tensors.size(), -1);
  const auto valid = [&](int32_t t) {
    return t >= 0 && static_cast<size_t>(t) < sg.tensors.size();
  };
  for (const graph::Op& op : sg.ops) {
    if (op.code != OpCode::kDequantize || op.inputs.size() != 1 || op.outputs.size() != 1) continue;
    const int32_t in = op.inputs[0];
    const int32_t out = op.outputs[0];
    if (!valid(in) || !valid(out)) continue;
    const uint32_t buffer = sg.tensors[in].buffer;
    if (buffer != 0 && buffer < model.buffers.size()) source[out] = in;
  }
  return source;
}

void FillQuantization(const graph::QuantParams& q, TensorSummary* t) {
  t->scale_count = q.scale.size();
  if (!q.scale.empty()) {
    const auto [lo, hi] = std::minmax_element(q.scale.begin(), q.scale.end());
    t->scale_min = *lo;
    t->scale_max = *hi;
  }
  if (!q.zero_point.empty()) {
    const auto [lo, hi] = std::minmax_element(q.zero_point.begin(), q.zero_point.end());
    t->zero_point_min = *lo;
    t->zero_point_max = *hi;
  }
  t->quantized_dimension = q.quantized_dimension;
  t->block_size = q.block_size;
}

OpSummary DescribeOp(const graph::Model& model, const graph::Subgraph& sg,
                     const std::string& sg_name, const graph::Op& op,
                     const std::vector<int32_t>& dequantized) {
  OpSummary s;
  s.subgraph = sg_name;
  s.op = graph::OpCodeName(op.code);
  const auto valid = [&](int32_t t) {
    return t >= 0 && static_cast<size_t>(t) < sg.tensors.size();
  };
  struct Operand {
    std::string label;
    DType dtype;
    bool integer_constant;
  };
  std::vector<Operand> present;
  for (int32_t t : op.inputs) {
    if (!valid(t)) {
      s.input_dtypes.push_back("");
      continue;
    }
    const graph::Tensor& tensor = sg.tensors[t];
    std::string label = graph::DTypeName(tensor.dtype);
    if (dequantized[t] >= 0) {
      label = std::string(graph::DTypeName(sg.tensors[dequantized[t]].dtype)) + "(deq)";
    }
    const bool constant = tensor.buffer != 0 && tensor.buffer < model.buffers.size();
    s.input_dtypes.push_back(label);
    present.push_back({label, tensor.dtype, constant && !IsFloat(tensor.dtype)});
  }
  std::vector<Operand> main;
  for (const Operand& o : present) {
    if (!IsIndexLike(o.dtype) && main.size() < 2) main.push_back(o);
  }
  if (main.empty() && !present.empty()) main.push_back(present.front());
  DType out_dtype = DType::kFloat32;
  bool has_output = false;
  if (!op.outputs.empty() && valid(op.outputs[0])) {
    out_dtype = sg.tensors[op.outputs[0]].dtype;
    s.output = sg.tensors[op.outputs[0]].name;
    has_output = true;
  }
  for (size_t i = 0; i < main.size(); ++i) s.dtypes += (i ? " x " : "") + main[i].label;
  s.dtypes += std::string(" -> ") + (has_output ? graph::DTypeName(out_dtype) : "?");

  bool any_float = false;
  bool any_integer_constant = false;
  for (const Operand& o : main) {
    any_float |= IsFloat(o.dtype);
    any_integer_constant |= o.integer_constant;
  }
  if (IsConversion(op.code)) {
    s.compute = ComputeClass::kConversion;
  } else if (any_integer_constant && (any_float || (has_output && IsFloat(out_dtype)))) {
    s.compute = ComputeClass::kHybrid;
  } else if (any_float) {
    s.compute = ComputeClass::kFloat;
  } else {
    s.compute = ComputeClass::kInteger;
  }
  return s;
}

// Nesting depth of JSON-looking text (brackets outside strings), to refuse pathological
// metadata before a recursive parser sees it.
int JsonNestingDepth(const std::string& text) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

nlohmann::json CountsJson(const std::map<std::string, int>& counts) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : counts) j[k] = v;
  return j;
}

nlohmann::json SignatureTensorsJson(const std::vector<SignatureTensor>& tensors) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& t : tensors)
    j.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}});
  return j;
}

}  // namespace

const char* ComputeClassName(ComputeClass c) {
  switch (c) {
    case ComputeClass::kFloat:
      return "float";
    case ComputeClass::kHybrid:
      return "hybrid";
    case ComputeClass::kInteger:
      return "integer";
    case ComputeClass::kConversion:
      return "conversion";
  }
  return "unknown";
}

ModelSummary SummarizeModel(const graph::Model& model) {
  ModelSummary s;
  s.metadata = model.metadata;
  std::set<uint32_t> counted_buffers;
  for (size_t g = 0; g < model.subgraphs.size(); ++g) {
    const graph::Subgraph& sg = model.subgraphs[g];
    const std::string name = SubgraphName(sg, g);
    s.subgraphs.push_back(name);
    const std::vector<int32_t> dequantized = DequantizedConstants(model, sg);
    for (size_t t = 0; t < sg.tensors.size(); ++t) {
      const graph::Tensor& tensor = sg.tensors[t];
      TensorSummary ts;
      ts.subgraph = name;
      ts.index = static_cast<int32_t>(t);
      ts.name = tensor.name;
      ts.dtype = graph::DTypeName(tensor.dtype);
      ts.shape = tensor.shape;
      ts.constant = tensor.buffer != 0 && tensor.buffer < model.buffers.size();
      if (dequantized[t] >= 0)
        ts.dequantized_from = graph::DTypeName(sg.tensors[dequantized[t]].dtype);
      FillQuantization(tensor.quant, &ts);
      s.tensors.push_back(std::move(ts));
      if (tensor.buffer != 0 && tensor.buffer < model.buffers.size() &&
          counted_buffers.insert(tensor.buffer).second) {
        const uint64_t bytes = model.buffers[tensor.buffer].size;
        s.constant_bytes[graph::DTypeName(tensor.dtype)] += bytes;
        s.total_constant_bytes += bytes;
      }
    }
    for (const graph::Op& op : sg.ops) {
      OpSummary o = DescribeOp(model, sg, name, op, dequantized);
      ++s.op_counts[o.op];
      ++s.op_dtype_counts[o.op + " " + o.dtypes];
      ++s.compute_class_counts[ComputeClassName(o.compute)];
      if (o.compute == ComputeClass::kFloat) ++s.float_op_counts[o.op];
      s.ops.push_back(std::move(o));
    }
  }
  for (const graph::Signature& sig : model.signatures) {
    SignatureSummary ss;
    ss.key = sig.key;
    if (sig.subgraph >= model.subgraphs.size()) continue;
    const graph::Subgraph& sg = model.subgraphs[sig.subgraph];
    ss.subgraph = SubgraphName(sg, sig.subgraph);
    const auto describe = [&](const std::vector<std::pair<std::string, int32_t>>& list,
                              std::vector<SignatureTensor>* out) {
      for (const auto& [n, t] : list) {
        if (t < 0 || static_cast<size_t>(t) >= sg.tensors.size()) continue;
        out->push_back({n, graph::DTypeName(sg.tensors[t].dtype), sg.tensors[t].shape});
      }
    };
    describe(sig.inputs, &ss.inputs);
    describe(sig.outputs, &ss.outputs);
    s.signatures.push_back(std::move(ss));
  }
  return s;
}

Result<std::vector<TensorSummary>> MatchTensors(const ModelSummary& summary,
                                                const std::string& pattern) {
  auto regex = tokenizer::Regex::Compile(pattern);
  if (!regex.ok()) return regex.status().WithContext("--tensors");
  std::vector<TensorSummary> matched;
  for (const TensorSummary& t : summary.tensors) {
    // PCRE2 matches valid UTF-8 only; a file's names are not trusted to be.
    const std::string name = tokenizer::ToValidUtf8Lossy(t.name);
    if (!regex->FindAll(name).empty()) matched.push_back(t);
  }
  return matched;
}

std::string QuantizationText(const TensorSummary& t) {
  if (t.scale_count == 0) return "";
  char buf[160];
  if (t.scale_count == 1) {
    std::snprintf(buf, sizeof(buf), "scale %.6g zp %lld", t.scale_min,
                  static_cast<long long>(t.zero_point_min));
    return buf;
  }
  std::snprintf(buf, sizeof(buf), "per-axis dim %d: %zu scales [%.6g, %.6g] zp [%lld, %lld]",
                t.quantized_dimension, t.scale_count, t.scale_min, t.scale_max,
                static_cast<long long>(t.zero_point_min), static_cast<long long>(t.zero_point_max));
  std::string text = buf;
  if (t.block_size > 0) text += " block " + std::to_string(t.block_size);
  return text;
}

nlohmann::json TensorToJson(const TensorSummary& t) {
  nlohmann::json j = {{"subgraph", t.subgraph},
                      {"index", t.index},
                      {"name", t.name},
                      {"dtype", t.dtype},
                      {"shape", t.shape},
                      {"constant", t.constant},
                      {"dequantized_from", t.dequantized_from}};
  if (t.scale_count > 0) {
    j["quantization"] = {
        {"scale_count", t.scale_count},       {"scale_min", t.scale_min},
        {"scale_max", t.scale_max},           {"zero_point_min", t.zero_point_min},
        {"zero_point_max", t.zero_point_max}, {"quantized_dimension", t.quantized_dimension},
        {"block_size", t.block_size}};
  } else {
    j["quantization"] = nullptr;
  }
  return j;
}

nlohmann::json MetadataValueJson(const std::string& bytes) {
  const bool printable = std::all_of(bytes.begin(), bytes.end(), [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u < 0x7f) || c == '\n' || c == '\r' || c == '\t';
  });
  if (!printable) return "<" + std::to_string(bytes.size()) + " bytes, not text>";
  if (JsonNestingDepth(bytes) <= 64) {
    nlohmann::json j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) return j;
  }
  return bytes;
}

nlohmann::json SummaryToJson(const ModelSummary& summary,
                             const std::vector<TensorSummary>* tensors) {
  nlohmann::json j;
  j["subgraphs"] = summary.subgraphs;
  nlohmann::json sigs = nlohmann::json::array();
  for (const auto& s : summary.signatures) {
    sigs.push_back({{"key", s.key},
                    {"subgraph", s.subgraph},
                    {"inputs", SignatureTensorsJson(s.inputs)},
                    {"outputs", SignatureTensorsJson(s.outputs)}});
  }
  j["signatures"] = sigs;
  j["op_counts"] = CountsJson(summary.op_counts);
  j["op_dtype_counts"] = CountsJson(summary.op_dtype_counts);
  j["compute_class_counts"] = CountsJson(summary.compute_class_counts);
  j["float_op_counts"] = CountsJson(summary.float_op_counts);
  nlohmann::json bytes = nlohmann::json::object();
  for (const auto& [k, v] : summary.constant_bytes) bytes[k] = v;
  j["constant_bytes"] = bytes;
  j["total_constant_bytes"] = summary.total_constant_bytes;
  nlohmann::json metadata = nlohmann::json::object();
  for (const auto& [k, v] : summary.metadata) metadata[k] = MetadataValueJson(v);
  j["metadata"] = metadata;
  if (tensors != nullptr) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : *tensors) list.push_back(TensorToJson(t));
    j["tensors"] = list;
  }
  return j;
}

}  // namespace liteq::eval
