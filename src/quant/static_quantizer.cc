#include "quant/static_quantizer.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "graph/prune.h"
#include "quant/attention_params.h"
#include "quant/integer_ops.h"
#include "quant/quant_params.h"
#include "quant/rewrite_util.h"
#include "quant/static_constants.h"
#include "tokenizer/regex.h"

namespace liteq::quant {
namespace {

using graph::DType;
using graph::OpCode;

struct ModelContext {
  graph::Model& model;
  const ActivationRanges& ranges;
  const StaticOptions& options;
  DType act_dtype;
  int32_t qmin, qmax;
  std::optional<tokenizer::Regex> float_ops, float_tensors;
  std::set<uint32_t> table_buffers;  // float buffers read by integer GATHERs
  QuantizedBufferCache buffers;
  StaticReport report;
};

bool IsPropagating(OpCode code) {
  return code == OpCode::kReshape || code == OpCode::kSqueeze || code == OpCode::kTranspose ||
         code == OpCode::kSlice || code == OpCode::kStridedSlice || code == OpCode::kGather;
}

bool IsCacheName(const std::string& name) { return name.rfind("kv_cache", 0) == 0; }

class SubgraphRewriter {
 public:
  SubgraphRewriter(ModelContext& c, uint32_t index)
      : c_(c), index_(index), sg_(c.model.subgraphs[index]) {
    const size_t n = sg_.tensors.size();
    producer_.assign(n, -1);
    consumers_.assign(n, {});
    for (size_t i = 0; i < sg_.ops.size(); ++i) {
      const graph::Op& op = sg_.ops[i];
      for (size_t s = 0; s < op.inputs.size(); ++s) {
        if (op.inputs[s] >= 0)
          consumers_[op.inputs[s]].push_back({static_cast<int>(i), static_cast<int>(s)});
      }
      for (int32_t t : op.outputs) producer_[t] = static_cast<int>(i);
    }
    for (const graph::Signature& sig : c_.model.signatures) {
      if (sig.subgraph != index_) continue;
      for (const auto& [name, t] : sig.inputs) {
        if (IsCacheName(name)) cache_inputs_.insert(t);
      }
      for (const auto& [name, t] : sig.outputs) {
        (IsCacheName(name) ? cache_outputs_ : plain_outputs_).insert(t);
      }
    }
    for (int32_t t : sg_.outputs) {
      if (cache_outputs_.count(t) == 0) plain_outputs_.insert(t);
    }
  }

  // Decides which ops run on integers; records GATHER tables for the model-wide pass.
  void ClassifyOps() {
    is_int_.assign(sg_.ops.size(), false);
    const std::set<int> norm_statistics =
        c_.options.float_norm_statistics ? NormStatisticsOps(sg_, producer_) : std::set<int>();
    for (size_t i = 0; i < sg_.ops.size(); ++i) {
      const graph::Op& op = sg_.ops[i];
      if (!HasFloatActivation(op)) continue;  // integer/bool index arithmetic
      const IntegerOpContext context{
          .subgraph = sg_,
          .activations = c_.act_dtype,
          .kv_cache_int = c_.options.kv_cache_int,
          .cache_inputs = cache_inputs_,
          .float_ops = c_.float_ops ? &*c_.float_ops : nullptr,
          .float_tensors = c_.float_tensors ? &*c_.float_tensors : nullptr};
      std::string reason = FloatReason(context, op);
      for (int32_t in : op.inputs) {
        if (reason.empty() && IsConst(in) &&
            c_.options.float_buffers.count(sg_.tensors[in].buffer)) {
          reason = "reads '" + sg_.tensors[in].name + "', kept in float";
        }
      }
      if (reason.empty() && norm_statistics.count(static_cast<int>(i)) != 0) {
        reason = "normalization statistics stay float (--int8-norm-statistics to change)";
      }
      if (reason.empty()) {
        is_int_[i] = true;
        ++c_.report.integer_ops[graph::OpCodeName(op.code)];
        if (op.code == OpCode::kGather && IsConst(op.inputs[0])) {
          c_.table_buffers.insert(sg_.tensors[op.inputs[0]].buffer);
        }
      } else {
        ++c_.report.float_ops[graph::OpCodeName(op.code)];
        c_.report.float_op_list.push_back({sg_.name, Label(op), reason});
      }
    }
  }

  Status Rewrite() {
    const size_t original = sg_.tensors.size();
    home_int_.assign(original, false);
    for (size_t i = 0; i < sg_.ops.size(); ++i) {
      if (!is_int_[i]) continue;
      for (int32_t t : sg_.ops[i].outputs) home_int_[t] = true;
    }
    if (c_.options.kv_cache_int) {
      for (int32_t t : cache_inputs_) home_int_[t] = IsCacheWrittenByIntDus(t);
    }
    // Parameters of every integer-side activation, before tensors are touched.
    for (size_t t = 0; t < original; ++t) {
      if (!IsFloatActivation(static_cast<int32_t>(t))) continue;
      if (home_int_[t] || NeedsInt(static_cast<int32_t>(t))) {
        LITEQ_RETURN_IF_ERROR(ParamsOf(static_cast<int32_t>(t)).status());
      }
    }
    std::vector<graph::Op> ops;
    std::vector<graph::Op> old_ops = std::move(sg_.ops);
    // Float inputs (tokens are int32; this is the cache in float mode) read as integers.
    for (size_t t = 0; t < original; ++t) {
      const auto ti = static_cast<int32_t>(t);
      if (producer_[t] < 0 && IsFloatActivation(ti) && !home_int_[t] && NeedsInt(ti)) {
        ops.push_back(ConvertOp(OpCode::kQuantize, ti, IntCopy(ti)));
      }
    }
    for (size_t i = 0; i < old_ops.size(); ++i) {
      graph::Op op = old_ops[i];
      for (size_t s = 0; s < op.inputs.size(); ++s) {
        const int32_t t = op.inputs[s];
        if (t < 0 || !IsFloat(t)) continue;
        if (is_int_[i]) {
          LITEQ_ASSIGN_OR_RETURN(op.inputs[s], IntInput(old_ops[i], s));
          LITEQ_ASSIGN_OR_RETURN(std::optional<graph::QuantParams> required,
                                 RequiredInputParams(old_ops[i], s));
          const int32_t in = op.inputs[s];
          // Original integer-side tensors change type only at the end of the rewrite.
          const graph::QuantParams& actual = static_cast<size_t>(in) < original && home_int_[in]
                                                 ? params_.at(in)
                                                 : sg_.tensors[in].quant;
          if (required && !SameParams(*required, actual)) {
            graph::Tensor r = sg_.tensors[in];
            r.name = sg_.tensors[t].name + "/requantized";
            r.dtype = c_.act_dtype;
            r.quant = *required;
            r.buffer = 0;
            r.is_variable = false;
            const int32_t requantized = AddTensor(std::move(r));
            ops.push_back(ConvertOp(OpCode::kQuantize, op.inputs[s], requantized));
            op.inputs[s] = requantized;
          }
        } else if (home_int_[t]) {
          op.inputs[s] = FloatCopy(t);
        }
      }
      if (is_int_[i] && op.code == OpCode::kFullyConnected) {
        LITEQ_RETURN_IF_ERROR(QuantizeFcConstants(op));
      }
      ops.push_back(op);
      for (int32_t t : old_ops[i].outputs) {
        if (!IsFloatActivation(t)) continue;
        if (home_int_[t] && NeedsFloat(t))
          ops.push_back(ConvertOp(OpCode::kDequantize, t, FloatCopy(t)));
        if (!home_int_[t] && NeedsInt(t))
          ops.push_back(ConvertOp(OpCode::kQuantize, t, IntCopy(t)));
      }
    }
    sg_.ops = std::move(ops);
    // Integer-side tensors change type in place (they keep their names).
    for (size_t t = 0; t < original; ++t) {
      if (!home_int_[t]) continue;
      sg_.tensors[t].dtype = c_.act_dtype;
      sg_.tensors[t].quant = params_.at(static_cast<int32_t>(t));
    }
    // Float signature outputs produced by integer ops read the dequantized copy.
    for (graph::Signature& sig : c_.model.signatures) {
      if (sig.subgraph != index_) continue;
      for (auto& [name, t] : sig.outputs) {
        if (home_int_[t] && plain_outputs_.count(t) != 0) t = FloatCopy(t);
      }
    }
    for (int32_t& t : sg_.outputs) {
      if (static_cast<size_t>(t) < original && home_int_[t] && plain_outputs_.count(t) != 0) {
        t = FloatCopy(t);
      }
    }
    return Status::Ok();
  }

 private:
  bool IsConst(int32_t t) const { return t >= 0 && sg_.tensors[t].buffer != 0; }
  bool IsFloat(int32_t t) const { return sg_.tensors[t].dtype == DType::kFloat32; }
  bool IsFloatActivation(int32_t t) const {
    return t >= 0 && IsFloat(t) && !IsConst(t) && sg_.tensors[t].quant.empty();
  }
  bool HasFloatActivation(const graph::Op& op) const {
    for (int32_t t : op.inputs) {
      if (IsFloatActivation(t)) return true;
    }
    for (int32_t t : op.outputs) {
      if (IsFloatActivation(t)) return true;
    }
    return false;
  }

  std::string Label(const graph::Op& op) const {
    std::string out = graph::OpCodeName(op.code);
    if (!op.outputs.empty() && op.outputs[0] >= 0)
      out += " '" + sg_.tensors[op.outputs[0]].name + "'";
    return out;
  }

  bool IsCacheWrittenByIntDus(int32_t t) const {
    for (const auto& [op, slot] : consumers_[t]) {
      if (slot == 0 && sg_.ops[op].code == OpCode::kDynamicUpdateSlice && is_int_[op]) return true;
    }
    return false;
  }

  bool NeedsInt(int32_t t) const {
    for (const auto& [op, slot] : consumers_[t]) {
      if (is_int_[op]) return true;
    }
    return false;
  }
  bool NeedsFloat(int32_t t) const {
    if (plain_outputs_.count(t) != 0) return true;
    for (const auto& [op, slot] : consumers_[t]) {
      if (!is_int_[op]) return true;
    }
    return false;
  }

  Result<graph::QuantParams> FromRange(int32_t t) const {
    const std::string& name = sg_.tensors[t].name;
    auto it = c_.ranges.find(name);
    if (it == c_.ranges.end()) {
      return FailedPreconditionError("static quantization: no calibration range for tensor '" +
                                     name + "' in subgraph '" + sg_.name + "'");
    }
    const bool output = plain_outputs_.count(t) != 0;
    const float lo = output ? it->second.observed_min : it->second.min;
    const float hi = output ? it->second.observed_max : it->second.max;
    Result<QuantParams> p = c_.act_dtype == DType::kInt8 ? ChooseInt8ActivationParams(lo, hi)
                                                         : ChooseInt16ActivationParams(lo, hi);
    if (!p.ok()) return p.status().WithContext("tensor '" + name + "'");
    return TensorParams(*p);
  }

  graph::QuantParams Fixed(float int8_scale, int64_t int8_zp) const {
    graph::QuantParams q;
    if (c_.act_dtype == DType::kInt16) {
      q.scale = {1.0f / 32768.0f};
      q.zero_point = {0};
    } else {
      q.scale = {int8_scale};
      q.zero_point = {int8_zp};
    }
    return q;
  }

  // Parameters of the integer representation of activation t.
  Result<graph::QuantParams> ParamsOf(int32_t t) {
    if (auto it = params_.find(t); it != params_.end()) return it->second;
    if (!in_progress_.insert(t).second) {
      return InternalError("static quantization: parameter cycle at '" + sg_.tensors[t].name + "'");
    }
    Result<graph::QuantParams> p = ComputeParams(t);
    in_progress_.erase(t);
    if (!p.ok()) return p.status();
    params_[t] = *p;
    return p;
  }

  Result<graph::QuantParams> ComputeParams(int32_t t) {
    const int p = producer_[t];
    if (p >= 0 && is_int_[p]) {
      const graph::Op& op = sg_.ops[p];
      if (IsPropagating(op.code) || op.code == OpCode::kDynamicUpdateSlice) {
        return InputParams(op, 0);
      }
      if (op.code == OpCode::kSoftmax || op.code == OpCode::kLogistic)
        return Fixed(1.0f / 256, -128);
      if (op.code == OpCode::kTanh) return Fixed(1.0f / 128, 0);
      if (op.code == OpCode::kConcatenation) {
        // Shared parameters: those of the integer inputs when they agree.
        std::optional<graph::QuantParams> shared;
        bool agree = true;
        for (int32_t in : op.inputs) {
          if (in < 0 || IsConst(in) || !home_int_[in]) continue;
          LITEQ_ASSIGN_OR_RETURN(graph::QuantParams q, ParamsOf(in));
          if (!shared) {
            shared = q;
          } else if (!SameParams(*shared, q)) {
            agree = false;
          }
        }
        if (shared && agree) return *shared;
      }
    }
    if (p < 0 || !is_int_[p]) {
      // A float tensor quantized for integer consumers that all require the same
      // parameters (CONCATENATION inputs) is quantized with them directly.
      std::optional<graph::QuantParams> required;
      bool all = !consumers_[t].empty();
      for (const auto& [op, slot] : consumers_[t]) {
        if (!is_int_[op]) continue;
        LITEQ_ASSIGN_OR_RETURN(std::optional<graph::QuantParams> r,
                               RequiredInputParams(sg_.ops[op], static_cast<size_t>(slot)));
        if (!r || (required && !SameParams(*required, *r))) {
          all = false;
          break;
        }
        required = r;
      }
      if (all && required) return *required;
    }
    if (cache_inputs_.count(t) != 0 && home_int_[t]) {
      // The cache holds what DYNAMIC_UPDATE_SLICE writes: share the update's parameters.
      for (const auto& [op, slot] : consumers_[t]) {
        if (slot == 0 && sg_.ops[op].code == OpCode::kDynamicUpdateSlice) {
          return ParamsOf(sg_.ops[op].inputs[1]);
        }
      }
    }
    if (c_.act_dtype == DType::kInt8) {
      // Scores about to be masked take the masked scores' parameters: a visible key's
      // ADD is then the identity instead of a second rounding (which TFLite and
      // XNNPACK also round differently).
      if (std::optional<int32_t> masked = MaskedSumOf(t)) return ParamsOf(*masked);
    }
    auto range = c_.ranges.find(sg_.tensors[t].name);
    if (range != c_.ranges.end() && range->second.has_sentinels) {
      // An attention mask (0 or the float minimum) added to scores (attention_params.h).
      std::vector<MaskedAdd> adds;
      for (const auto& [op, slot] : consumers_[t]) {
        const graph::Op& add = sg_.ops[op];
        if (add.code != OpCode::kAdd || !is_int_[op] || add.inputs.size() != 2) continue;
        MaskedAdd a;
        LITEQ_ASSIGN_OR_RETURN(a.sum, ParamsOf(add.outputs[0]));
        const int32_t addend = add.inputs[slot == 0 ? 1 : 0];
        if (addend >= 0 && !IsConst(addend)) {
          LITEQ_ASSIGN_OR_RETURN(a.other, ParamsOf(addend));
        }
        adds.push_back(std::move(a));
      }
      graph::QuantParams mask =
          SaturatingMaskParams(adds, c_.qmin, c_.qmax, c_.act_dtype == DType::kInt8);
      if (!mask.empty()) return mask;
      if (c_.act_dtype == DType::kInt8 && FeedsIntegerSoftmax(t)) {
        const graph::Tensor& scores = sg_.tensors[t];
        return MaskedScoresParams(range->second, scores.shape.empty() ? 1 : scores.shape.back(),
                                  scores.name);
      }
    }
    return FromRange(t);
  }

  // The output of the integer ADD of t (through integer RESHAPEs) and an attention
  // mask, when that sum feeds an integer SOFTMAX.
  std::optional<int32_t> MaskedSumOf(int32_t t) const {
    for (int32_t cur = t;;) {
      if (consumers_[cur].size() != 1) return std::nullopt;
      const auto [index, slot] = consumers_[cur][0];
      const graph::Op& op = sg_.ops[index];
      if (!is_int_[index] || op.outputs.size() != 1) return std::nullopt;
      if (op.code == OpCode::kReshape && slot == 0) {
        cur = op.outputs[0];
        continue;
      }
      if (op.code != OpCode::kAdd || op.inputs.size() != 2) return std::nullopt;
      const int32_t mask = op.inputs[slot == 0 ? 1 : 0];
      if (mask < 0) return std::nullopt;
      auto range = c_.ranges.find(sg_.tensors[mask].name);
      if (range == c_.ranges.end() || !range->second.has_sentinels) return std::nullopt;
      if (!FeedsIntegerSoftmax(op.outputs[0])) return std::nullopt;
      return op.outputs[0];
    }
  }

  bool FeedsIntegerSoftmax(int32_t t) const {
    for (const auto& [op, slot] : consumers_[t]) {
      if (sg_.ops[op].code == OpCode::kSoftmax && is_int_[op]) return true;
    }
    return false;
  }

  static bool SameParams(const graph::QuantParams& a, const graph::QuantParams& b) {
    return a.scale == b.scale && a.zero_point == b.zero_point;
  }

  // Parameters input `slot` of integer op `op` must have, if the op dictates them.
  Result<std::optional<graph::QuantParams>> RequiredInputParams(const graph::Op& op, size_t slot) {
    if (op.code == OpCode::kConcatenation || (op.code == OpCode::kSelectV2 && slot >= 1)) {
      LITEQ_ASSIGN_OR_RETURN(graph::QuantParams out, ParamsOf(op.outputs[0]));
      return std::optional<graph::QuantParams>(out);
    }
    return std::optional<graph::QuantParams>();
  }

  Result<graph::QuantParams> InputParams(const graph::Op& op, size_t slot) {
    const int32_t t = op.inputs[slot];
    if (IsConst(t)) {
      LITEQ_ASSIGN_OR_RETURN(int32_t q, ConstCopy(t, SchemeFor(op, slot)));
      return sg_.tensors[q].quant;
    }
    return ParamsOf(t);
  }

  ConstScheme SchemeFor(const graph::Op& op, size_t slot) const {
    if (op.code == OpCode::kGather && slot == 0) return ConstScheme::kTable;
    if (op.code == OpCode::kFullyConnected && slot == 1) {
      const uint32_t buffer = sg_.tensors[op.inputs[1]].buffer;
      if (c_.options.weight_granularity == Granularity::kPerTensor ||
          (c_.act_dtype == DType::kInt8 && c_.table_buffers.count(buffer) != 0)) {
        return ConstScheme::kWeightPerTensor;
      }
      return ConstScheme::kWeightPerChannel;
    }
    return ConstScheme::kActivation;
  }

  // The integer input `slot` of integer op `op` (original indices).
  Result<int32_t> IntInput(const graph::Op& op, size_t slot) {
    const int32_t t = op.inputs[slot];
    if (IsConst(t)) {
      if (op.code == OpCode::kFullyConnected && slot == 2) return t;  // bias: QuantizeFcConstants
      if (op.code == OpCode::kSelectV2) return SharedParamsConst(t, op.outputs[0]);
      return ConstCopy(t, SchemeFor(op, slot));
    }
    if (home_int_[t]) return t;
    return IntCopy(t);
  }

  // Constant t quantized with the parameters of activation `like` (SELECT_V2 operands).
  Result<int32_t> SharedParamsConst(int32_t t, int32_t like) {
    LITEQ_ASSIGN_OR_RETURN(graph::QuantParams params, ParamsOf(like));
    LITEQ_ASSIGN_OR_RETURN(graph::Tensor q,
                           QuantizeConstantWith(c_.model, sg_.tensors[t], params, c_.act_dtype));
    q.name += "/" + sg_.tensors[like].name;
    c_.report.int_weight_bytes += graph::TensorBytes(q.dtype, NumElements(q.shape));
    return AddTensor(std::move(q));
  }

  int32_t AddTensor(graph::Tensor t) {
    sg_.tensors.push_back(std::move(t));
    return static_cast<int32_t>(sg_.tensors.size() - 1);
  }

  int32_t IntCopy(int32_t t) {
    if (auto it = int_copy_.find(t); it != int_copy_.end()) return it->second;
    graph::Tensor q = sg_.tensors[t];
    q.name += "/quantized";
    q.dtype = c_.act_dtype;
    q.quant = params_.at(t);
    q.is_variable = false;
    const int32_t index = AddTensor(std::move(q));
    int_copy_[t] = index;
    return index;
  }

  int32_t FloatCopy(int32_t t) {
    if (auto it = float_copy_.find(t); it != float_copy_.end()) return it->second;
    graph::Tensor f = sg_.tensors[t];
    f.name += "/dequantized";
    f.dtype = DType::kFloat32;
    f.quant = {};
    f.is_variable = false;
    const int32_t index = AddTensor(std::move(f));
    float_copy_[t] = index;
    return index;
  }

  graph::Op ConvertOp(OpCode code, int32_t from, int32_t to) {
    graph::Op op;
    op.code = code;
    op.inputs = {from};
    op.outputs = {to};
    if (code == OpCode::kQuantize) {
      ++c_.report.quantize_ops;
    } else {
      ++c_.report.dequantize_ops;
    }
    return op;
  }

  // An integer copy of float constant t (its buffer quantized once per model).
  Result<int32_t> ConstCopy(int32_t t, ConstScheme scheme) {
    // An int8 GATHER table is stored exactly like per-tensor FC weights, so a tied
    // embedding / lm head is one tensor and one buffer.
    if (scheme == ConstScheme::kTable && c_.act_dtype == DType::kInt8) {
      scheme = ConstScheme::kWeightPerTensor;
    }
    const auto key = std::make_pair(t, scheme);
    if (auto it = const_copy_.find(key); it != const_copy_.end()) return it->second;
    const graph::Tensor& original = sg_.tensors[t];
    LITEQ_ASSIGN_OR_RETURN(
        QuantizedBuffer qb,
        QuantizeConstantBuffer(c_.model, original, scheme, c_.act_dtype, c_.buffers, c_.report));
    graph::Tensor q = sg_.tensors[t];
    q.dtype = qb.dtype;
    q.buffer = qb.buffer;
    q.quant = qb.params;
    const std::string suffix = "/float";  // pruned unless a float op still reads it
    if (q.name.size() > suffix.size() && q.name.ends_with(suffix)) {
      q.name.resize(q.name.size() - suffix.size());
    } else {
      sg_.tensors[t].name += suffix;
    }
    const int32_t index = AddTensor(std::move(q));
    const_copy_[key] = index;
    return index;
  }

  // Bias of an integer FULLY_CONNECTED (static_constants.h QuantizeFcBias).
  Status QuantizeFcConstants(graph::Op& op) {
    if (op.inputs.size() < 3 || op.inputs[2] < 0) return Status::Ok();
    const graph::Tensor& x = sg_.tensors[op.inputs[0]];
    const float in_scale = x.quant.empty() ? params_.at(op.inputs[0]).scale[0] : x.quant.scale[0];
    LITEQ_ASSIGN_OR_RETURN(graph::Tensor q,
                           QuantizeFcBias(c_.model, sg_.tensors[op.inputs[2]], in_scale,
                                          sg_.tensors[op.inputs[1]].quant.scale, c_.act_dtype));
    op.inputs[2] = AddTensor(std::move(q));
    return Status::Ok();
  }

  ModelContext& c_;
  uint32_t index_;
  graph::Subgraph& sg_;
  std::vector<int> producer_;
  std::vector<std::vector<std::pair<int, int>>> consumers_;
  std::set<int32_t> cache_inputs_, cache_outputs_, plain_outputs_;
  std::vector<bool> is_int_;
  std::vector<bool> home_int_;
  std::map<int32_t, graph::QuantParams> params_;
  std::set<int32_t> in_progress_;
  std::map<int32_t, int32_t> int_copy_, float_copy_;
  std::map<std::pair<int32_t, ConstScheme>, int32_t> const_copy_;
};

}  // namespace

Result<StaticReport> QuantizeStatic(graph::Model& model, const ActivationRanges& ranges,
                                    const StaticOptions& options) {
  const bool int8 = options.activations == ActivationType::kInt8;
  ModelContext c{.model = model,
                 .ranges = ranges,
                 .options = options,
                 .act_dtype = int8 ? DType::kInt8 : DType::kInt16,
                 .qmin = int8 ? -128 : -32767,
                 .qmax = int8 ? 127 : 32767,
                 .float_ops = std::nullopt,
                 .float_tensors = std::nullopt,
                 .table_buffers = {},
                 .buffers = {},
                 .report = {}};
  // PCRE2 (the tokenizer's engine): GCC 12's std::regex trips -Wmaybe-uninitialized
  // under the sanitizer build.
  if (!options.float_ops.empty()) {
    auto re = tokenizer::Regex::Compile(options.float_ops);
    if (!re.ok()) return re.status().WithContext("--float-ops");
    c.float_ops.emplace(std::move(re).value());
  }
  if (!options.float_tensors.empty()) {
    auto re = tokenizer::Regex::Compile(options.float_tensors);
    if (!re.ok()) return re.status().WithContext("--float-tensors");
    c.float_tensors.emplace(std::move(re).value());
  }
  if (options.strict) {
    RewriteNegAsMul(model, c.float_ops ? &*c.float_ops : nullptr,
                    c.float_tensors ? &*c.float_tensors : nullptr);
  }
  std::vector<SubgraphRewriter> rewriters;
  rewriters.reserve(model.subgraphs.size());
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    rewriters.emplace_back(c, s);
    rewriters.back().ClassifyOps();
  }
  if (options.strict && !c.report.float_op_list.empty()) {
    std::string list;
    for (const FloatOp& f : c.report.float_op_list) {
      list += "\n  " + f.subgraph + ": " + f.op + ": " + f.reason;
    }
    return FailedPreconditionError(
        "static_int8_strict: " + std::to_string(c.report.float_op_list.size()) +
        " ops would stay in float:" + list);
  }
  for (SubgraphRewriter& r : rewriters) LITEQ_RETURN_IF_ERROR(r.Rewrite());
  graph::PruneUnused(model);
  return std::move(c.report);
}

}  // namespace liteq::quant
