#include "eval/quant_debugger.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <span>

#include "eval/kl_divergence.h"
#include "generate/session.h"
#include "runtime/interpreter.h"

namespace liteq::eval {
namespace {

// Attention masks hold the float minimum for hidden keys (quant/calibration.h).
constexpr double kSentinelMagnitude = 1e30;

struct Pair {
  std::string quantized;
  std::string reference;
  size_t slot = 0;
};

std::string ReferenceName(const std::string& name) {
  for (const std::string suffix : {"/quantized", "/requantized"}) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return name.substr(0, name.size() - suffix.size());
    }
  }
  return name;
}

bool IsComparable(const graph::Tensor& t) {
  return (t.dtype == graph::DType::kInt8 || t.dtype == graph::DType::kInt16) && t.buffer == 0 &&
         t.quant.scale.size() == 1 && t.quant.zero_point.size() <= 1 && t.quant.scale[0] > 0.0f;
}

// The tensors of signature `key` to compare, in op order; new names get a slot.
Result<std::vector<Pair>> PairTensors(const graph::Model& quantized, const graph::Model& reference,
                                      const std::string& key, std::vector<TensorError>& slots,
                                      std::map<std::string, size_t>& slot_of) {
  const graph::Signature* qs = quantized.FindSignature(key);
  const graph::Signature* rs = reference.FindSignature(key);
  if (qs == nullptr || rs == nullptr) {
    return InvalidArgumentError("signature '" + key + "' is missing from one of the models");
  }
  const graph::Subgraph& qg = quantized.subgraphs.at(qs->subgraph);
  const graph::Subgraph& rg = reference.subgraphs.at(rs->subgraph);
  std::map<std::string, int32_t> reference_index;
  for (size_t i = 0; i < rg.tensors.size(); ++i)
    reference_index[rg.tensors[i].name] = static_cast<int32_t>(i);
  std::vector<Pair> pairs;
  for (const graph::Op& op : qg.ops) {
    for (int32_t t : op.outputs) {
      if (t < 0 || static_cast<size_t>(t) >= qg.tensors.size()) continue;
      const graph::Tensor& q = qg.tensors[t];
      if (!IsComparable(q)) continue;
      const std::string ref_name = ReferenceName(q.name);
      auto it = reference_index.find(ref_name);
      if (it == reference_index.end()) continue;
      const graph::Tensor& r = rg.tensors[it->second];
      if (r.dtype != graph::DType::kFloat32 || r.num_elements() != q.num_elements()) continue;
      auto [slot_it, inserted] = slot_of.emplace(q.name, slots.size());
      if (inserted) {
        TensorError e;
        e.name = q.name;
        e.reference = ref_name;
        e.order = static_cast<int>(slots.size());
        e.dtype = q.dtype == graph::DType::kInt8 ? "int8" : "int16";
        e.scale = q.quant.scale[0];
        e.zero_point = q.quant.zero_point.empty() ? 0 : q.quant.zero_point[0];
        e.reference_min = std::numeric_limits<double>::infinity();
        e.reference_max = -std::numeric_limits<double>::infinity();
        slots.push_back(std::move(e));
      }
      pairs.push_back({q.name, ref_name, slot_it->second});
    }
  }
  return pairs;
}

template <typename Int>
void Accumulate(std::span<const Int> q, std::span<const float> r, size_t channels,
                TensorError& e) {
  if (e.channel_signal2.size() != channels) {
    e.channel_signal2.assign(channels, 0.0);
    e.channel_error2.assign(channels, 0.0);
  }
  const double scale = e.scale;
  const double zp = static_cast<double>(e.zero_point);
  const double lo = (static_cast<double>(std::numeric_limits<Int>::min()) - zp - 0.5) * scale;
  const double hi = (static_cast<double>(std::numeric_limits<Int>::max()) - zp + 0.5) * scale;
  for (size_t i = 0; i < q.size(); ++i) {
    const double x = r[i];
    if (!std::isfinite(x) || std::fabs(x) >= kSentinelMagnitude) {
      ++e.sentinels;
      continue;
    }
    const double err = (static_cast<double>(q[i]) - zp) * scale - x;
    e.sum_signal2 += x * x;
    e.sum_error2 += err * err;
    e.channel_signal2[i % channels] += x * x;
    e.channel_error2[i % channels] += err * err;
    e.max_abs_error = std::max(e.max_abs_error, std::fabs(err));
    e.reference_min = std::min(e.reference_min, x);
    e.reference_max = std::max(e.reference_max, x);
    if (x < lo || x > hi) ++e.clipped;
    ++e.values;
  }
}

Status Compare(runtime::SignatureRunner& q_runner, runtime::SignatureRunner& r_runner,
               const std::vector<Pair>& pairs, std::vector<TensorError>& slots) {
  for (const Pair& p : pairs) {
    LITEQ_ASSIGN_OR_RETURN(runtime::TensorView q, q_runner.TensorByName(p.quantized));
    LITEQ_ASSIGN_OR_RETURN(runtime::TensorView r, r_runner.TensorByName(p.reference));
    TensorError& e = slots[p.slot];
    const auto rv = r.as<const float>();
    const size_t channels =
        q.shape.empty() || q.shape.back() <= 0 ? 1 : static_cast<size_t>(q.shape.back());
    if (q.dtype == graph::DType::kInt8) {
      const auto qv = q.as<const int8_t>();
      if (qv.size() != rv.size())
        return InternalError("tensor '" + p.quantized + "': size mismatch");
      Accumulate<int8_t>(qv, rv, channels, e);
    } else {
      const auto qv = q.as<const int16_t>();
      if (qv.size() != rv.size())
        return InternalError("tensor '" + p.quantized + "': size mismatch");
      Accumulate<int16_t>(qv, rv, channels, e);
    }
  }
  return Status::Ok();
}

Status Feed(runtime::SignatureRunner& runner, std::span<const int32_t> tokens, int position) {
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView tok, runner.Input("tokens"));
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView pos, runner.Input("input_pos"));
  auto tok_data = tok.as<int32_t>();
  auto pos_data = pos.as<int32_t>();
  if (tok_data.size() != tokens.size() || pos_data.size() != tokens.size()) {
    return InternalError("signature '" + runner.signature().key + "' takes " +
                         std::to_string(tok_data.size()) + " tokens");
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    tok_data[i] = tokens[i];
    pos_data[i] = position + static_cast<int>(i);
  }
  return runner.Invoke().WithContext("running signature '" + runner.signature().key + "'");
}

void Finish(TensorError& e) {
  if (e.values == 0) {
    e.reference_min = e.reference_max = 0.0;
    e.snr_db = std::numeric_limits<double>::infinity();
    return;
  }
  e.rmse = std::sqrt(e.sum_error2 / static_cast<double>(e.values));
  e.clipped_fraction = static_cast<double>(e.clipped) / static_cast<double>(e.values);
  if (e.sum_error2 == 0.0) {
    e.snr_db = std::numeric_limits<double>::infinity();
  } else if (e.sum_signal2 == 0.0) {
    e.snr_db = -std::numeric_limits<double>::infinity();
  } else {
    e.snr_db = 10.0 * std::log10(e.sum_signal2 / e.sum_error2);
  }
  std::vector<double> per_channel;
  for (size_t c = 0; c < e.channel_error2.size(); ++c) {
    const double sig = e.channel_signal2[c], err = e.channel_error2[c];
    // A channel whose reference is all zero has no scale to measure error against.
    if (sig == 0.0) continue;
    if (err == 0.0) {
      per_channel.push_back(std::numeric_limits<double>::infinity());
    } else {
      per_channel.push_back(10.0 * std::log10(sig / err));
    }
  }
  if (per_channel.empty()) {
    e.channel_snr_db = e.snr_db;
  } else {
    const size_t mid = per_channel.size() / 2;
    std::nth_element(per_channel.begin(), per_channel.begin() + mid, per_channel.end());
    e.channel_snr_db = per_channel[mid];
  }
}

class DebugRun {
 public:
  DebugRun(runtime::Interpreter& q, runtime::Interpreter& r, generate::ModelShape shape)
      : q_(q), r_(r), shape_(std::move(shape)) {}

  Status Init(QuantDebugReport& report) {
    std::map<std::string, size_t> slot_of;
    for (const auto& p : shape_.prefill) {
      LITEQ_ASSIGN_OR_RETURN(pairs_[p.key],
                             PairTensors(q_.model(), r_.model(), p.key, report.tensors, slot_of));
    }
    LITEQ_ASSIGN_OR_RETURN(pairs_["decode"],
                           PairTensors(q_.model(), r_.model(), "decode", report.tensors, slot_of));
    return Status::Ok();
  }

  // A sample as `liteq run` feeds it: the longest prefill chunk that fits without
  // padding (padded rows would be compared too), then one token at a time.
  Status RunSample(std::span<const int32_t> sample, QuantDebugReport& report) {
    q_.ResetState();
    r_.ResetState();
    size_t done = 0;
    const generate::PrefillSignature* chosen = nullptr;
    for (const auto& p : shape_.prefill) {
      if (static_cast<size_t>(p.length) <= sample.size()) chosen = &p;
    }
    if (chosen != nullptr) {
      LITEQ_RETURN_IF_ERROR(Step(chosen->key, sample.first(chosen->length), 0, report));
      done = chosen->length;
      report.prefill_tokens += chosen->length;
    }
    for (; done < sample.size(); ++done) {
      LITEQ_RETURN_IF_ERROR(
          Step("decode", sample.subspan(done, 1), static_cast<int>(done), report));
      ++report.decode_tokens;
    }
    return Status::Ok();
  }

 private:
  Status Step(const std::string& key, std::span<const int32_t> tokens, int position,
              QuantDebugReport& report) {
    LITEQ_ASSIGN_OR_RETURN(runtime::SignatureRunner * q, q_.GetSignature(key));
    LITEQ_ASSIGN_OR_RETURN(runtime::SignatureRunner * r, r_.GetSignature(key));
    LITEQ_RETURN_IF_ERROR(Feed(*q, tokens, position).WithContext("quantized model"));
    LITEQ_RETURN_IF_ERROR(Feed(*r, tokens, position).WithContext("reference model"));
    return Compare(*q, *r, pairs_.at(key), report.tensors);
  }

  runtime::Interpreter& q_;
  runtime::Interpreter& r_;
  generate::ModelShape shape_;
  std::map<std::string, std::vector<Pair>> pairs_;
};

Status MeasureGrowth(runtime::Interpreter& q, runtime::Interpreter& r,
                     const std::vector<std::vector<int32_t>>& prompts,
                     const QuantDebugOptions& options, QuantDebugReport& report) {
  LITEQ_ASSIGN_OR_RETURN(auto q_session, generate::Session::Create(&q));
  LITEQ_ASSIGN_OR_RETURN(auto r_session, generate::Session::Create(&r));
  const int steps = options.growth_steps;
  std::vector<double> sum(steps, 0.0), max(steps, 0.0);
  int done = 0;
  for (const auto& prompt : prompts) {
    if (prompt.empty()) continue;
    q_session->Reset();
    r_session->Reset();
    LITEQ_RETURN_IF_ERROR(q_session->Feed(prompt));
    LITEQ_RETURN_IF_ERROR(r_session->Feed(prompt));
    for (int s = 0; s < steps; ++s) {
      const TokenComparison c =
          CompareLogitRows(r_session->last_logits(), q_session->last_logits(), 0);
      sum[s] += c.kl;
      max[s] = std::max(max[s], c.kl);
      if (s + 1 == steps) break;
      const int32_t next[1] = {c.top_reference};  // the reference's greedy token, to both
      LITEQ_RETURN_IF_ERROR(q_session->Feed(next));
      LITEQ_RETURN_IF_ERROR(r_session->Feed(next));
    }
    ++done;
    if (options.progress) options.progress("growth prompt", done, static_cast<int>(prompts.size()));
  }
  report.growth_prompts = done;
  if (done > 0) {
    for (int s = 0; s < steps; ++s) sum[s] /= done;
    report.growth_mean_kl = std::move(sum);
    report.growth_max_kl = std::move(max);
  }
  return Status::Ok();
}

}  // namespace

std::vector<size_t> QuantDebugReport::WorstFirst() const {
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [this](size_t a, size_t b) {
    const TensorError& x = tensors[a];
    const TensorError& y = tensors[b];
    if (x.worst_snr_db() != y.worst_snr_db()) return x.worst_snr_db() < y.worst_snr_db();
    return x.rmse > y.rmse;
  });
  return order;
}

Result<QuantDebugReport> DebugQuantization(std::shared_ptr<const graph::Model> quantized,
                                           std::shared_ptr<const graph::Model> reference,
                                           const std::vector<std::vector<int32_t>>& samples,
                                           const std::vector<std::vector<int32_t>>& prompts,
                                           const QuantDebugOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (quantized == nullptr || reference == nullptr) return InvalidArgumentError("no model");
  if (options.growth_steps < 0) return InvalidArgumentError("growth steps must be >= 0");
  const runtime::InterpreterOptions io{.num_threads = options.num_threads,
                                       .preserve_all_tensors = true};
  LITEQ_ASSIGN_OR_RETURN(auto q, runtime::Interpreter::Create(quantized, io));
  LITEQ_ASSIGN_OR_RETURN(auto r, runtime::Interpreter::Create(reference, io));
  LITEQ_ASSIGN_OR_RETURN(generate::ModelShape q_shape, generate::InspectModelShape(*q));
  LITEQ_ASSIGN_OR_RETURN(generate::ModelShape r_shape, generate::InspectModelShape(*r));
  if (!q_shape.has_decode || !r_shape.has_decode) {
    return InvalidArgumentError("both models need a decode signature");
  }
  if (q_shape.prefill.size() != r_shape.prefill.size() ||
      q_shape.vocab_size != r_shape.vocab_size) {
    return InvalidArgumentError("the models differ in prefill signatures or vocabulary size");
  }
  for (size_t i = 0; i < q_shape.prefill.size(); ++i) {
    if (q_shape.prefill[i].key != r_shape.prefill[i].key ||
        q_shape.prefill[i].length != r_shape.prefill[i].length) {
      return InvalidArgumentError("the models' prefill signatures differ ('" +
                                  q_shape.prefill[i].key + "' vs '" + r_shape.prefill[i].key +
                                  "')");
    }
  }
  const int max_seq = std::min(q_shape.max_seq, r_shape.max_seq);
  for (const auto& s : samples) {
    if (static_cast<int>(s.size()) > max_seq) {
      return InvalidArgumentError("a sample of " + std::to_string(s.size()) +
                                  " tokens exceeds max_seq " + std::to_string(max_seq));
    }
  }
  for (const auto& p : prompts) {
    if (static_cast<int>(p.size()) + options.growth_steps > max_seq) {
      return InvalidArgumentError("a growth prompt of " + std::to_string(p.size()) +
                                  " tokens plus " + std::to_string(options.growth_steps) +
                                  " steps exceeds max_seq " + std::to_string(max_seq));
    }
  }
  QuantDebugReport report;
  DebugRun run(*q, *r, q_shape);
  LITEQ_RETURN_IF_ERROR(run.Init(report));
  for (size_t i = 0; i < samples.size(); ++i) {
    LITEQ_RETURN_IF_ERROR(run.RunSample(samples[i], report));
    ++report.samples;
    if (options.progress)
      options.progress("sample", static_cast<int>(i + 1), static_cast<int>(samples.size()));
  }
  for (TensorError& e : report.tensors) Finish(e);
  if (options.growth_steps > 0 && !prompts.empty()) {
    LITEQ_RETURN_IF_ERROR(MeasureGrowth(*q, *r, prompts, options, report));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace liteq::eval
