// Sensitivity sweep and automatic mixed precision for the static recipes.
//
// Op groups are defined from the float graph's tensor names (the builder's naming,
// src/model/blocks.cc: "embedding.*", "layers.N.attn.{norm,q,k,v,o,q_rope,scores,probs,
// ...}", "layers.N.mlp.*", "final_norm.*", "logits"): attention input (the pre-attention
// norm and the q/k/v projections that read it), attention output projection (o),
// attention core (q/k norms, RoPE, the attention matmuls, mask, softmax), MLP input (the
// pre-MLP norm and the gate/up projections), MLP output (activation, gating, down),
// other norms (post-attention/post-MLP), residual adds, embedding, final norm, lm head,
// and "other" (anything else that is computed). A norm and the projections reading its
// output are one group because they share one quantization step (op_groups.cc). A group
// is kept in float by passing the exact names of its op outputs to the static
// quantizer's float_tensors regex.
//
// The sweep calibrates once (the caller passes the same ActivationRanges to every
// recipe), quantizes the float model with everything but one group quantized, runs
// it in memory and measures its mean KL(P_float || P_q) on fixed windows (the float
// logits are computed once and cached). Groups are ranked by KL reduction per extra
// float byte (bytes of weights that stay float32 instead of int8; groups without
// weights count as 1 KiB, so they rank by their reduction alone).
//
// Mixed precision: starting from all-quantized, groups are added in rank order and the
// combined plan is re-measured after each addition (effects are not additive) until the
// mean KL meets the target; then each chosen group but the last is dropped again when
// the plan still meets the target without it.
#ifndef LITEQ_EVAL_SENSITIVITY_H_
#define LITEQ_EVAL_SENSITIVITY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"
#include "quant/recipe.h"

namespace liteq::eval {

enum class GroupGranularity { kType, kLayer };

struct OpGroup {
  std::string name;  // "mlp_in" (by type) or "layers.3.mlp_in" (by layer)
  // attn_in, attn_out, attn_core, mlp_in, mlp_out, norm, residual, embedding, final_norm,
  // lm_head, other
  std::string kind;
  int layer = -1;
  std::vector<std::string> tensors;  // op output names, sorted
};

// Groups of the ops of `float_model` that produce float tensors (all signatures).
std::vector<OpGroup> DefineOpGroups(const graph::Model& float_model, GroupGranularity granularity);
// "^(?:a|b|...)$" over the groups' tensor names (regex metacharacters escaped); empty
// for no groups.
std::string FloatTensorsRegex(const std::vector<const OpGroup*>& groups);
// Bytes of the constant buffers the model's tensors reference, each buffer once.
int64_t ConstantBytes(const graph::Model& model);
// "a|b" of two regexes, either possibly empty.
std::string CombineRegex(const std::string& a, const std::string& b);

// What a model does to the float model's predictions on the evaluator's windows.
struct Measurement {
  double mean_kl = 0.0;            // mean KL(P_float || P_model), nats
  double ppl = 0.0;                // the model's perplexity on the windows' next tokens
  double ppl_delta_percent = 0.0;  // (ppl / float ppl - 1) * 100
};

// Measures models against the float model on fixed windows; the float model's
// logits are computed once at Create.
class KlEvaluator {
 public:
  static Result<std::unique_ptr<KlEvaluator>> Create(
      std::shared_ptr<const graph::Model> float_model, std::vector<std::vector<int32_t>> windows,
      int num_threads);
  Result<Measurement> Measure(std::shared_ptr<const graph::Model> model) const;
  Result<double> MeanKl(std::shared_ptr<const graph::Model> model) const {
    LITEQ_ASSIGN_OR_RETURN(Measurement m, Measure(std::move(model)));
    return m.mean_kl;
  }
  double reference_ppl() const { return reference_ppl_; }
  int64_t tokens() const { return tokens_; }
  size_t windows() const { return windows_.size(); }

 private:
  KlEvaluator() = default;
  std::vector<std::vector<int32_t>> windows_;
  std::vector<std::vector<float>> reference_logits_;  // per window, rows 0..n-2
  int vocab_ = 0;
  int num_threads_ = 1;
  int64_t tokens_ = 0;
  double reference_ppl_ = 0.0;
};

struct QuantizedVariant {
  std::shared_ptr<const graph::Model> model;
  quant::RecipeReport report;
  double mean_kl = 0.0;
  double ppl_delta_percent = 0.0;
  // Bytes of the model's constant buffers (what the file stores), each counted once:
  // a tied embedding kept float for one of its readers adds a float copy.
  int64_t weight_bytes = 0;
};

// Quantizes a copy of `float_model` with `recipe`, the given groups (plus
// recipe.float_tensors) kept float, and measures it.
Result<QuantizedVariant> QuantizeAndMeasure(const graph::Model& float_model,
                                            const quant::RecipeOptions& recipe,
                                            const std::vector<const OpGroup*>& float_groups,
                                            const KlEvaluator& evaluator);

struct GroupSensitivity {
  OpGroup group;
  double mean_kl = 0.0;       // with this group in float
  double kl_reduction = 0.0;  // baseline_kl - mean_kl
  double ppl_delta_percent = 0.0;  // with this group in float
  int64_t extra_float_bytes = 0;
  double reduction_per_mb = 0.0;  // kl_reduction / max(extra bytes, 1 KiB) * 1e6
};

struct SensitivityReport {
  double baseline_kl = 0.0;  // everything quantized
  double baseline_ppl_delta_percent = 0.0;
  int64_t baseline_weight_bytes = 0;
  std::vector<GroupSensitivity> groups;  // ranked, best first
  size_t windows = 0;
  int64_t tokens = 0;
  double seconds = 0.0;
};

using SweepProgress = std::function<void(const std::string& what, int done, int total)>;

Result<SensitivityReport> RunSensitivity(const graph::Model& float_model,
                                         const std::vector<OpGroup>& groups,
                                         const quant::RecipeOptions& recipe,
                                         const KlEvaluator& evaluator,
                                         const SweepProgress& progress = {});

// What the plan must reach: mean KL <= value, or PPL change <= value percent.
struct PlanTarget {
  enum class Metric { kMeanKl, kPplDeltaPercent };
  Metric metric = Metric::kMeanKl;
  double value = 0.0;
};

struct MixedPrecisionPlan {
  PlanTarget target;
  double target_kl = -1.0;  // target.value for kMeanKl, else -1
  double baseline_kl = 0.0;
  double achieved_kl = 0.0;
  double baseline_ppl_delta_percent = 0.0;
  double achieved_ppl_delta_percent = 0.0;
  bool met = false;
  std::vector<std::string> float_groups;   // names, in the order chosen
  std::vector<std::string> float_tensors;  // their tensors
  std::string float_tensors_regex;         // what the quantizer gets (groups only)
  int64_t extra_float_bytes = 0;
  int measurements = 0;  // models quantized and measured for the plan
  // Every measured combination: {groups, mean_kl, ppl change %}.
  struct Trial {
    std::vector<std::string> groups;
    double mean_kl = 0.0;
    double ppl_delta_percent = 0.0;
  };
  std::vector<Trial> trials;
};

// Groups are tried in the sweep's rank order (KL reduction per byte) whatever the
// target's metric: KL is the smoother signal; the stopping rule uses the target's.
Result<MixedPrecisionPlan> PlanForTarget(const graph::Model& float_model,
                                         const SensitivityReport& sweep,
                                         const quant::RecipeOptions& recipe,
                                         const KlEvaluator& evaluator, const PlanTarget& target,
                                         const SweepProgress& progress = {});
inline Result<MixedPrecisionPlan> PlanForTargetKl(const graph::Model& float_model,
                                                  const SensitivityReport& sweep,
                                                  const quant::RecipeOptions& recipe,
                                                  const KlEvaluator& evaluator, double target_kl,
                                                  const SweepProgress& progress = {}) {
  return PlanForTarget(float_model, sweep, recipe, evaluator,
                       {PlanTarget::Metric::kMeanKl, target_kl}, progress);
}

// JSON forms (stable keys).
nlohmann::json SensitivityReportToJson(const SensitivityReport& report);
nlohmann::json MixedPrecisionPlanToJson(const MixedPrecisionPlan& plan);
// Adds the plan to the model's `liteq.quantization` metadata as "mixed_precision".
Status RecordPlanInMetadata(graph::Model& model, const MixedPrecisionPlan& plan);

}  // namespace liteq::eval

#endif  // LITEQ_EVAL_SENSITIVITY_H_
