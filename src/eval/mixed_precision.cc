// Automatic mixed precision from a sensitivity sweep (sensitivity.h), and the JSON of
// both.
#include <algorithm>
#include <cmath>

#include "eval/sensitivity.h"

namespace liteq::eval {
namespace {

std::vector<std::string> Names(const std::vector<const OpGroup*>& groups) {
  std::vector<std::string> out;
  for (const OpGroup* g : groups) out.push_back(g->name);
  return out;
}

}  // namespace

Result<MixedPrecisionPlan> PlanForTarget(const graph::Model& float_model,
                                         const SensitivityReport& sweep,
                                         const quant::RecipeOptions& recipe,
                                         const KlEvaluator& evaluator, const PlanTarget& target,
                                         const SweepProgress& progress) {
  const bool by_kl = target.metric == PlanTarget::Metric::kMeanKl;
  if (by_kl && !(target.value >= 0.0)) return InvalidArgumentError("the target KL must be >= 0");
  if (!by_kl && !std::isfinite(target.value)) {
    return InvalidArgumentError("the target PPL change must be a finite percentage");
  }
  MixedPrecisionPlan plan;
  plan.target = target;
  plan.target_kl = by_kl ? target.value : -1.0;
  plan.baseline_kl = plan.achieved_kl = sweep.baseline_kl;
  plan.baseline_ppl_delta_percent = plan.achieved_ppl_delta_percent =
      sweep.baseline_ppl_delta_percent;
  auto meets = [&](double kl, double ppl_delta) {
    return (by_kl ? kl : ppl_delta) <= target.value;
  };
  std::vector<const OpGroup*> chosen;
  int64_t chosen_bytes = sweep.baseline_weight_bytes;
  auto measure = [&](const std::vector<const OpGroup*>& groups) -> Result<QuantizedVariant> {
    LITEQ_ASSIGN_OR_RETURN(QuantizedVariant v,
                           QuantizeAndMeasure(float_model, recipe, groups, evaluator));
    ++plan.measurements;
    plan.trials.push_back({Names(groups), v.mean_kl, v.ppl_delta_percent});
    if (progress)
      progress("plan of " + std::to_string(groups.size()) + " groups", plan.measurements, 0);
    return v;
  };
  auto accept = [&](const QuantizedVariant& v) {
    plan.achieved_kl = v.mean_kl;
    plan.achieved_ppl_delta_percent = v.ppl_delta_percent;
    chosen_bytes = v.weight_bytes;
  };
  if (!meets(sweep.baseline_kl, sweep.baseline_ppl_delta_percent)) {
    // Candidates in rank order: only groups whose float copy helped on its own.
    for (const GroupSensitivity& g : sweep.groups) {
      if (g.kl_reduction <= 0.0) continue;
      chosen.push_back(&g.group);
      LITEQ_ASSIGN_OR_RETURN(QuantizedVariant v, measure(chosen));
      accept(v);
      if (meets(v.mean_kl, v.ppl_delta_percent)) break;
    }
    // Groups chosen early may be unnecessary once later ones are float.
    if (meets(plan.achieved_kl, plan.achieved_ppl_delta_percent)) {
      for (size_t i = 0; chosen.size() > 1 && i + 1 < chosen.size();) {
        std::vector<const OpGroup*> without = chosen;
        without.erase(without.begin() + static_cast<std::ptrdiff_t>(i));
        LITEQ_ASSIGN_OR_RETURN(QuantizedVariant v, measure(without));
        if (meets(v.mean_kl, v.ppl_delta_percent)) {
          chosen = std::move(without);
          accept(v);
        } else {
          ++i;
        }
      }
    }
  }
  plan.met = meets(plan.achieved_kl, plan.achieved_ppl_delta_percent);
  plan.float_groups = Names(chosen);
  for (const OpGroup* g : chosen) {
    plan.float_tensors.insert(plan.float_tensors.end(), g->tensors.begin(), g->tensors.end());
  }
  plan.float_tensors_regex = FloatTensorsRegex(chosen);
  plan.extra_float_bytes = chosen_bytes - sweep.baseline_weight_bytes;
  return plan;
}

nlohmann::json SensitivityReportToJson(const SensitivityReport& report) {
  nlohmann::json groups = nlohmann::json::array();
  for (size_t i = 0; i < report.groups.size(); ++i) {
    const GroupSensitivity& g = report.groups[i];
    groups.push_back({{"rank", i + 1},
                      {"name", g.group.name},
                      {"kind", g.group.kind},
                      {"layer", g.group.layer},
                      {"tensors", g.group.tensors.size()},
                      {"mean_kl", g.mean_kl},
                      {"kl_reduction", g.kl_reduction},
                      {"ppl_delta_percent", g.ppl_delta_percent},
                      {"extra_float_bytes", g.extra_float_bytes},
                      {"kl_reduction_per_mb", g.reduction_per_mb}});
  }
  return {
      {"baseline_kl", report.baseline_kl},
      {"baseline_ppl_delta_percent", report.baseline_ppl_delta_percent},
      {"baseline_weight_bytes", report.baseline_weight_bytes},
      {"windows", report.windows},         {"tokens_scored", report.tokens},
      {"seconds", report.seconds},         {"groups", groups}};
}

nlohmann::json MixedPrecisionPlanToJson(const MixedPrecisionPlan& plan) {
  nlohmann::json trials = nlohmann::json::array();
  for (const MixedPrecisionPlan::Trial& t : plan.trials) {
    trials.push_back({{"float_groups", t.groups},
                      {"mean_kl", t.mean_kl},
                      {"ppl_delta_percent", t.ppl_delta_percent}});
  }
  nlohmann::json j = {{"baseline_kl", plan.baseline_kl},
                      {"achieved_kl", plan.achieved_kl},
                      {"baseline_ppl_delta_percent", plan.baseline_ppl_delta_percent},
                      {"achieved_ppl_delta_percent", plan.achieved_ppl_delta_percent},
                      {"met", plan.met},
                      {"float_groups", plan.float_groups},
                      {"float_tensor_count", plan.float_tensors.size()},
                      {"extra_float_bytes", plan.extra_float_bytes},
                      {"measurements", plan.measurements},
                      {"trials", trials}};
  if (plan.target.metric == PlanTarget::Metric::kMeanKl) {
    j["target_kl"] = plan.target.value;
  } else {
    j["target_ppl_delta_percent"] = plan.target.value;
  }
  return j;
}

Status RecordPlanInMetadata(graph::Model& model, const MixedPrecisionPlan& plan) {
  auto it = model.metadata.find("liteq.quantization");
  if (it == model.metadata.end()) {
    return FailedPreconditionError("the model has no liteq.quantization metadata to extend");
  }
  nlohmann::json meta = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object()) return InternalError("liteq.quantization metadata is not a JSON object");
  nlohmann::json p = MixedPrecisionPlanToJson(plan);
  p.erase("trials");
  p["float_tensors"] = plan.float_tensors;
  meta["mixed_precision"] = std::move(p);
  it->second = meta.dump();
  return Status::Ok();
}

}  // namespace liteq::eval
