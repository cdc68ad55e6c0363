// The sensitivity sweep (sensitivity.h): KL of one-group-float variants.
#include "eval/sensitivity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <span>

#include "eval/kl_divergence.h"
#include "generate/session.h"
#include "runtime/interpreter.h"

namespace liteq::eval {

int64_t ConstantBytes(const graph::Model& model) {
  std::set<uint32_t> used;
  for (const graph::Subgraph& sg : model.subgraphs) {
    for (const graph::Tensor& t : sg.tensors) {
      if (t.buffer != 0 && t.buffer < model.buffers.size()) used.insert(t.buffer);
    }
  }
  int64_t bytes = 0;
  for (uint32_t b : used) bytes += static_cast<int64_t>(model.buffers[b].size);
  return bytes;
}

Result<std::unique_ptr<KlEvaluator>> KlEvaluator::Create(
    std::shared_ptr<const graph::Model> float_model, std::vector<std::vector<int32_t>> windows,
    int num_threads) {
  std::unique_ptr<KlEvaluator> e(new KlEvaluator());
  e->num_threads_ = num_threads;
  LITEQ_ASSIGN_OR_RETURN(
      auto interpreter,
      runtime::Interpreter::Create(std::move(float_model), {.num_threads = num_threads}));
  LITEQ_ASSIGN_OR_RETURN(auto session, generate::Session::Create(interpreter.get()));
  e->vocab_ = session->shape().vocab_size;
  const size_t v = static_cast<size_t>(e->vocab_);
  double nll_sum = 0.0;
  for (auto& w : windows) {
    if (w.size() < 2) continue;
    session->Reset();
    std::vector<float> logits;
    LITEQ_RETURN_IF_ERROR(session->Feed(w, &logits));
    logits.resize((w.size() - 1) * v);  // the last row scores nothing
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      const auto row = std::span<const float>(logits).subspan(i * v, v);
      nll_sum += CompareLogitRows(row, row, w[i + 1]).nll_reference;
    }
    e->tokens_ += static_cast<int64_t>(w.size() - 1);
    e->reference_logits_.push_back(std::move(logits));
    e->windows_.push_back(std::move(w));
  }
  if (e->windows_.empty()) return InvalidArgumentError("no evaluation window of 2 or more tokens");
  e->reference_ppl_ = std::exp(nll_sum / static_cast<double>(e->tokens_));
  return e;
}

Result<Measurement> KlEvaluator::Measure(std::shared_ptr<const graph::Model> model) const {
  LITEQ_ASSIGN_OR_RETURN(auto interpreter, runtime::Interpreter::Create(
                                               std::move(model), {.num_threads = num_threads_}));
  LITEQ_ASSIGN_OR_RETURN(auto session, generate::Session::Create(interpreter.get()));
  if (session->shape().vocab_size != vocab_) {
    return InvalidArgumentError("the model's vocabulary differs from the reference's");
  }
  const size_t v = static_cast<size_t>(vocab_);
  double kl_sum = 0.0;
  double nll_sum = 0.0;
  std::vector<float> logits;
  for (size_t w = 0; w < windows_.size(); ++w) {
    const std::vector<int32_t>& window = windows_[w];
    session->Reset();
    logits.clear();
    LITEQ_RETURN_IF_ERROR(session->Feed(window, &logits));
    const std::vector<float>& ref = reference_logits_[w];
    for (size_t i = 0; i + 1 < window.size(); ++i) {
      const TokenComparison c =
          CompareLogitRows(std::span<const float>(ref).subspan(i * v, v),
                           std::span<const float>(logits).subspan(i * v, v), window[i + 1]);
      kl_sum += c.kl;
      nll_sum += c.nll_quantized;
    }
  }
  Measurement m;
  m.mean_kl = kl_sum / static_cast<double>(tokens_);
  m.ppl = std::exp(nll_sum / static_cast<double>(tokens_));
  m.ppl_delta_percent = (m.ppl / reference_ppl_ - 1.0) * 100.0;
  return m;
}

Result<QuantizedVariant> QuantizeAndMeasure(const graph::Model& float_model,
                                            const quant::RecipeOptions& recipe,
                                            const std::vector<const OpGroup*>& float_groups,
                                            const KlEvaluator& evaluator) {
  // A shallow copy: buffers share their bytes/producers with the float model.
  auto copy = std::make_shared<graph::Model>(float_model);
  quant::RecipeOptions options = recipe;
  options.float_tensors = CombineRegex(recipe.float_tensors, FloatTensorsRegex(float_groups));
  QuantizedVariant out;
  LITEQ_ASSIGN_OR_RETURN(out.report, quant::ApplyRecipe(*copy, options));
  out.weight_bytes = ConstantBytes(*copy);
  out.model = std::move(copy);
  LITEQ_ASSIGN_OR_RETURN(Measurement m, evaluator.Measure(out.model));
  out.mean_kl = m.mean_kl;
  out.ppl_delta_percent = m.ppl_delta_percent;
  return out;
}

Result<SensitivityReport> RunSensitivity(const graph::Model& float_model,
                                         const std::vector<OpGroup>& groups,
                                         const quant::RecipeOptions& recipe,
                                         const KlEvaluator& evaluator,
                                         const SweepProgress& progress) {
  if (!quant::NeedsCalibration(recipe.recipe)) {
    return InvalidArgumentError(std::string("the sensitivity sweep needs a static recipe, not ") +
                                quant::RecipeName(recipe.recipe));
  }
  const auto start = std::chrono::steady_clock::now();
  SensitivityReport report;
  report.windows = evaluator.windows();
  report.tokens = evaluator.tokens();
  const int total = static_cast<int>(groups.size()) + 1;
  LITEQ_ASSIGN_OR_RETURN(QuantizedVariant base,
                         QuantizeAndMeasure(float_model, recipe, {}, evaluator));
  report.baseline_kl = base.mean_kl;
  report.baseline_ppl_delta_percent = base.ppl_delta_percent;
  report.baseline_weight_bytes = base.weight_bytes;
  if (progress) progress("all quantized", 1, total);
  for (size_t i = 0; i < groups.size(); ++i) {
    LITEQ_ASSIGN_OR_RETURN(QuantizedVariant v,
                           QuantizeAndMeasure(float_model, recipe, {&groups[i]}, evaluator));
    GroupSensitivity g;
    g.group = groups[i];
    g.mean_kl = v.mean_kl;
    g.kl_reduction = base.mean_kl - v.mean_kl;
    g.ppl_delta_percent = v.ppl_delta_percent;
    g.extra_float_bytes = v.weight_bytes - base.weight_bytes;
    g.reduction_per_mb =
        g.kl_reduction / static_cast<double>(std::max<int64_t>(g.extra_float_bytes, 1024)) * 1e6;
    report.groups.push_back(std::move(g));
    if (progress) progress(groups[i].name, static_cast<int>(i) + 2, total);
  }
  std::stable_sort(report.groups.begin(), report.groups.end(),
                   [](const GroupSensitivity& a, const GroupSensitivity& b) {
                     return a.reduction_per_mb > b.reduction_per_mb;
                   });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace liteq::eval
