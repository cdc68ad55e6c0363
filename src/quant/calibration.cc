#include "quant/calibration.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "generate/session.h"
#include "quant/weight_rules.h"
#include "runtime/interpreter.h"
#include "tokenizer/regex.h"

namespace liteq::quant {
namespace {

// The float activations of one signature, observed after each Invoke.
struct ObservedSignature {
  runtime::SignatureRunner* runner = nullptr;
  std::vector<std::string> tensor_names;
  // CalibrationOptions::channel_abs_max_tensors present here, with their channel count.
  std::vector<std::pair<std::string, size_t>> channel_tensors;
};

Result<ObservedSignature> PrepareSignature(runtime::Interpreter& interpreter,
                                           const std::string& key,
                                           const CalibrationOptions& options,
                                           std::map<std::string, std::string>& aliases) {
  ObservedSignature out;
  LITEQ_ASSIGN_OR_RETURN(out.runner, interpreter.GetSignature(key));
  const graph::Model& model = interpreter.model();
  const graph::Subgraph& sg = model.subgraphs[out.runner->signature().subgraph];
  std::set<int32_t> state;
  for (const auto& [name, t] : out.runner->signature().inputs) {
    for (const auto& [out_name, o] : out.runner->signature().outputs) {
      if (name == out_name) state.insert(t);
    }
  }
  std::set<int32_t> skipped;
  for (const graph::Op& op : sg.ops) {
    if (op.code == graph::OpCode::kDynamicUpdateSlice && op.inputs.size() >= 2 &&
        state.count(op.inputs[0]) != 0) {
      const std::string& update = sg.tensors[op.inputs[1]].name;
      aliases[sg.tensors[op.inputs[0]].name] = update;
      aliases[sg.tensors[op.outputs[0]].name] = update;
      skipped.insert(op.inputs[0]);
      skipped.insert(op.outputs[0]);
    }
    // Data movement: the output's values are some of the input's, so its range is
    // within the input's (the quantizer propagates the input's parameters anyway).
    const bool moves = op.code == graph::OpCode::kReshape || op.code == graph::OpCode::kSqueeze ||
                       op.code == graph::OpCode::kTranspose || op.code == graph::OpCode::kSlice ||
                       op.code == graph::OpCode::kStridedSlice;
    if (moves && !op.inputs.empty() && op.inputs[0] >= 0 && sg.tensors[op.inputs[0]].buffer == 0 &&
        op.outputs.size() == 1) {
      aliases[sg.tensors[op.outputs[0]].name] = sg.tensors[op.inputs[0]].name;
      skipped.insert(op.outputs[0]);
    }
  }
  const std::set<std::string> channel_names(options.channel_abs_max_tensors.begin(),
                                            options.channel_abs_max_tensors.end());
  for (size_t i = 0; i < sg.tensors.size(); ++i) {
    const graph::Tensor& t = sg.tensors[i];
    if (t.dtype != graph::DType::kFloat32 || t.buffer != 0) continue;
    if (options.collect_histograms && skipped.count(static_cast<int32_t>(i)) == 0) {
      out.tensor_names.push_back(t.name);
    }
    if (channel_names.count(t.name) != 0 && !t.shape.empty() && t.shape.back() > 0) {
      out.channel_tensors.emplace_back(t.name, static_cast<size_t>(t.shape.back()));
    }
  }
  return out;
}

class Collector {
 public:
  explicit Collector(const StatsOptions& options) : options_(options) {}

  Status Observe(const ObservedSignature& sig) {
    for (const std::string& name : sig.tensor_names) {
      LITEQ_ASSIGN_OR_RETURN(runtime::TensorView view, sig.runner->TensorByName(name));
      std::span<const float> values = view.as<float>();
      auto it = result_.tensors.find(name);
      if (it == result_.tensors.end()) {
        it = result_.tensors.emplace(name, TensorCalibration{TensorStats(options_), 0}).first;
      }
      // Masks: keep the float-minimum sentinels out of the histogram.
      filtered_.clear();
      uint64_t sentinels = 0;
      for (float v : values) {
        if (std::fabs(v) >= kSentinelMagnitude) {
          ++sentinels;
        } else {
          filtered_.push_back(v);
        }
      }
      it->second.sentinels += sentinels;
      it->second.stats.ObservePart(filtered_);
    }
    for (const auto& [name, channels] : sig.channel_tensors) {
      LITEQ_ASSIGN_OR_RETURN(runtime::TensorView view, sig.runner->TensorByName(name));
      const std::span<const float> values = view.as<float>();
      std::vector<float>& maxima = result_.channel_abs_max[name];
      if (maxima.empty()) maxima.assign(channels, 0.0f);
      if (maxima.size() != channels || values.size() % channels != 0) {
        return InternalError("calibration: tensor '" + name + "' changed its channel count");
      }
      for (size_t i = 0; i < values.size(); ++i) {
        const float a = std::fabs(values[i]);
        if (std::isfinite(a)) maxima[i % channels] = std::max(maxima[i % channels], a);
      }
    }
    return Status::Ok();
  }

  // One calibration sample (its prefill and decode steps) is one observer batch: the
  // forward pass over a sequence that PyTorch's moving-average observer would see.
  void EndSample() {
    for (auto& [name, t] : result_.tensors) t.stats.EndBatch();
  }

  CalibrationResult& result() { return result_; }

 private:
  StatsOptions options_;
  CalibrationResult result_;
  std::vector<float> filtered_;
};

Status RunStep(const ObservedSignature& sig, std::span<const int32_t> tokens, int position,
               Collector& collector) {
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView tok, sig.runner->Input("tokens"));
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView pos, sig.runner->Input("input_pos"));
  auto tok_data = tok.as<int32_t>();
  auto pos_data = pos.as<int32_t>();
  if (tok_data.size() != tokens.size() || pos_data.size() != tokens.size()) {
    return InternalError("calibration: signature '" + sig.runner->signature().key + "' takes " +
                         std::to_string(tok_data.size()) + " tokens, fed " +
                         std::to_string(tokens.size()));
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    tok_data[i] = tokens[i];
    pos_data[i] = position + static_cast<int32_t>(i);
  }
  LITEQ_RETURN_IF_ERROR(sig.runner->Invoke().WithContext("calibration: running signature '" +
                                                         sig.runner->signature().key + "'"));
  return collector.Observe(sig);
}

}  // namespace

Result<std::vector<std::vector<int32_t>>> LoadCalibrationSamples(
    const std::string& path, const tokenizer::Tokenizer* tokenizer, int num_samples,
    int prefill_length, int decode_tokens, const std::vector<int32_t>& skip_ids) {
  if (num_samples <= 0) return InvalidArgumentError("--calib-samples must be positive");
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open calibration file '" + path + "'");
  std::vector<int32_t> stream;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_number);
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return InvalidArgumentError(where + ": not valid JSON");
    const nlohmann::json* ids = nullptr;
    if (j.is_array()) {
      ids = &j;
    } else if (j.is_object() && j.contains("ids")) {
      ids = &j["ids"];
    }
    if (ids != nullptr) {
      if (!ids->is_array()) return InvalidArgumentError(where + ": \"ids\" is not an array");
      for (const auto& v : *ids) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
          return InvalidArgumentError(where + ": token ids must be non-negative int32 values");
        }
        const auto id = static_cast<int32_t>(v.get<int64_t>());
        if (std::find(skip_ids.begin(), skip_ids.end(), id) == skip_ids.end()) {
          stream.push_back(id);
        }
      }
      continue;
    }
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) {
      return InvalidArgumentError(where + ": expected {\"text\": ...}, {\"ids\": [...]} or [ids]");
    }
    if (tokenizer == nullptr) {
      return FailedPreconditionError(where + ": text samples need the model's tokenizer");
    }
    const int32_t bos = tokenizer->bos_id();
    if (bos >= 0) stream.push_back(bos);
    const std::vector<int32_t> text_ids = tokenizer->Encode(j["text"].get<std::string>());
    stream.insert(stream.end(), text_ids.begin(), text_ids.end());
  }
  std::vector<std::vector<int32_t>> samples;
  size_t offset = 0;
  for (int i = 0; i < num_samples; ++i) {
    size_t length = static_cast<size_t>(prefill_length + decode_tokens);
    if (i % 4 == 1) length = static_cast<size_t>(std::max(1, prefill_length / 8));
    if (offset + length > stream.size()) break;
    samples.emplace_back(stream.begin() + static_cast<std::ptrdiff_t>(offset),
                         stream.begin() + static_cast<std::ptrdiff_t>(offset + length));
    offset += length;
  }
  if (samples.empty()) {
    return InvalidArgumentError("calibration file '" + path + "' has too few tokens (" +
                                std::to_string(stream.size()) + ") for one sample");
  }
  return samples;
}

Result<CalibrationResult> Calibrate(std::shared_ptr<const graph::Model> model,
                                    const std::vector<std::vector<int32_t>>& samples,
                                    const CalibrationOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  runtime::InterpreterOptions interpreter_options;
  interpreter_options.preserve_all_tensors = true;
  interpreter_options.num_threads = options.num_threads;
  LITEQ_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Interpreter> interpreter,
                         runtime::Interpreter::Create(std::move(model), interpreter_options));
  LITEQ_ASSIGN_OR_RETURN(generate::ModelShape shape, generate::InspectModelShape(*interpreter));
  if (!shape.has_decode) return FailedPreconditionError("calibration needs a 'decode' signature");
  Collector collector(options.stats);
  CalibrationResult& result = collector.result();
  LITEQ_ASSIGN_OR_RETURN(ObservedSignature decode,
                         PrepareSignature(*interpreter, "decode", options, result.aliases));
  std::vector<std::pair<int, ObservedSignature>> prefills;  // by length, ascending
  for (const generate::PrefillSignature& p : shape.prefill) {
    LITEQ_ASSIGN_OR_RETURN(ObservedSignature sig,
                           PrepareSignature(*interpreter, p.key, options, result.aliases));
    prefills.emplace_back(p.length, std::move(sig));
  }

  const int total = static_cast<int>(samples.size());
  for (int s = 0; s < total; ++s) {
    const std::vector<int32_t>& sample = samples[static_cast<size_t>(s)];
    interpreter->ResetState();
    int position = 0;
    // The longest prefill signature the sample fills exactly.
    for (auto it = prefills.rbegin(); it != prefills.rend(); ++it) {
      if (static_cast<size_t>(it->first) <= sample.size() && it->first <= shape.max_seq) {
        LITEQ_RETURN_IF_ERROR(RunStep(
            it->second, std::span<const int32_t>(sample.data(), static_cast<size_t>(it->first)), 0,
            collector));
        position = it->first;
        result.prefill_tokens += it->first;
        break;
      }
    }
    const int decode_end =
        std::min<int>(static_cast<int>(sample.size()),
                      position == 0 ? shape.max_seq : position + options.decode_tokens);
    for (; position < std::min(decode_end, shape.max_seq); ++position) {
      LITEQ_RETURN_IF_ERROR(
          RunStep(decode, std::span<const int32_t>(&sample[position], 1), position, collector));
      ++result.decode_tokens;
    }
    collector.EndSample();
    ++result.samples;
    if (options.progress) options.progress(s + 1, total);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::move(result);
}

Result<ActivationRanges> ComputeActivationRanges(const CalibrationResult& calibration,
                                                 ObserverKind observer,
                                                 const ObserverOptions& options) {
  return ComputeActivationRanges(calibration, observer, options, {});
}

Result<ActivationRanges> ComputeActivationRanges(const CalibrationResult& calibration,
                                                 ObserverKind observer,
                                                 const ObserverOptions& options,
                                                 const std::vector<ObserverRule>& rules) {
  std::vector<tokenizer::Regex> rule_re;
  for (size_t i = 0; i < rules.size(); ++i) {
    auto re = tokenizer::Regex::Compile(rules[i].tensors);
    if (!re.ok()) return re.status().WithContext("observer rule " + std::to_string(i));
    rule_re.push_back(std::move(re).value());
  }
  std::vector<bool> rule_used(rules.size(), false);
  ActivationRanges ranges;
  for (const auto& [name, t] : calibration.tensors) {
    if (t.stats.count() == 0) continue;
    ObserverKind kind = observer;
    ObserverOptions tensor_options = options;
    for (size_t i = 0; i < rules.size(); ++i) {
      if (!NameMatches(rule_re[i], name)) continue;
      rule_used[i] = true;
      kind = rules[i].observer;
      tensor_options.percentile = rules[i].percentile;
      break;
    }
    Result<Range> r = ComputeRange(t.stats, kind, tensor_options);
    if (!r.ok()) return r.status().WithContext("tensor '" + name + "'");
    ranges[name] = ActivationRange{r->min, r->max, t.sentinels > 0, t.stats.min(), t.stats.max()};
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!rule_used[i]) {
      return InvalidArgumentError("observer rule " + std::to_string(i) + " ('" + rules[i].tensors +
                                  "') matches no calibrated activation tensor");
    }
  }
  for (const auto& [alias, first_source] : calibration.aliases) {
    std::string source = first_source;
    for (int hops = 0; hops < 64; ++hops) {  // resolve chains (TRANSPOSE of a cache...)
      auto next = calibration.aliases.find(source);
      if (next == calibration.aliases.end()) break;
      source = next->second;
    }
    auto it = ranges.find(source);
    if (it == ranges.end()) continue;
    // The cache also holds zeros where nothing was written yet.
    ActivationRange r = it->second;
    r.min = std::min(r.min, 0.0f);
    r.max = std::max(r.max, 0.0f);
    r.observed_min = std::min(r.observed_min, 0.0f);
    r.observed_max = std::max(r.observed_max, 0.0f);
    ranges[alias] = r;
  }
  return ranges;
}

}  // namespace liteq::quant
