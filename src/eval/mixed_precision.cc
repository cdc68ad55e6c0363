// Automatic mixed precision from a sensitivity sweep (sensitivity.h), and the JSON of
// both.
#include <algorithm>

#include "eval/sensitivity.h"

namespace liteq::eval {
namespace {

std::vector<std::string> Names(const std::vector<const OpGroup*>& groups) {
  std::vector<std::string> out;
  for (const OpGroup* g : groups) out.push_back(g->name);
  return out;
}

}  // namespace

Result<MixedPrecisionPlan> PlanForTargetKl(const graph::Model& float_model,
                                           const SensitivityReport& sweep,
                                           const quant::RecipeOptions& recipe,
                                           const KlEvaluator& evaluator, double target_kl,
                                           const SweepProgress& progress) {
  if (!(target_kl >= 0.0)) return InvalidArgumentError("the target KL must be >= 0");
  MixedPrecisionPlan plan;
  plan.target_kl = target_kl;
  plan.baseline_kl = sweep.baseline_kl;
  plan.achieved_kl = sweep.baseline_kl;
  std::vector<const OpGroup*> chosen;
  int64_t chosen_bytes = sweep.baseline_weight_bytes;
  auto measure = [&](const std::vector<const OpGroup*>& groups) -> Result<QuantizedVariant> {
    LITEQ_ASSIGN_OR_RETURN(QuantizedVariant v,
                           QuantizeAndMeasure(float_model, recipe, groups, evaluator));
    ++plan.measurements;
    plan.trials.push_back({Names(groups), v.mean_kl});
    if (progress)
      progress("plan of " + std::to_string(groups.size()) + " groups", plan.measurements, 0);
    return v;
  };
  if (sweep.baseline_kl > target_kl) {
    // Candidates in rank order: only groups whose float copy helped on its own.
    for (const GroupSensitivity& g : sweep.groups) {
      if (g.kl_reduction <= 0.0) continue;
      chosen.push_back(&g.group);
      LITEQ_ASSIGN_OR_RETURN(QuantizedVariant v, measure(chosen));
      plan.achieved_kl = v.mean_kl;
      chosen_bytes = v.weight_bytes;
      if (v.mean_kl <= target_kl) break;
    }
    // Groups chosen early may be unnecessary once later ones are float.
    if (plan.achieved_kl <= target_kl) {
      for (size_t i = 0; chosen.size() > 1 && i + 1 < chosen.size();) {
        std::vector<const OpGroup*> without = chosen;
        without.erase(without.begin() + static_cast<std::ptrdiff_t>(i));
        LITEQ_ASSIGN_OR_RETURN(QuantizedVariant v, measure(without));
        if (v.mean_kl <= target_kl) {
          chosen = std::move(without);
          plan.achieved_kl = v.mean_kl;
          chosen_bytes = v.weight_bytes;
        } else {
          ++i;
        }
      }
    }
  }
  plan.met = plan.achieved_kl <= target_kl;
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
                      {"extra_float_bytes", g.extra_float_bytes},
                      {"kl_reduction_per_mb", g.reduction_per_mb}});
  }
  return {
      {"baseline_kl", report.baseline_kl}, {"baseline_weight_bytes", report.baseline_weight_bytes},
      {"windows", report.windows},         {"tokens_scored", report.tokens},
      {"seconds", report.seconds},         {"groups", groups}};
}

nlohmann::json MixedPrecisionPlanToJson(const MixedPrecisionPlan& plan) {
  nlohmann::json trials = nlohmann::json::array();
  for (const auto& [groups, kl] : plan.trials)
    trials.push_back({{"float_groups", groups}, {"mean_kl", kl}});
  return {{"target_kl", plan.target_kl},
          {"baseline_kl", plan.baseline_kl},
          {"achieved_kl", plan.achieved_kl},
          {"met", plan.met},
          {"float_groups", plan.float_groups},
          {"float_tensor_count", plan.float_tensors.size()},
          {"extra_float_bytes", plan.extra_float_bytes},
          {"measurements", plan.measurements},
          {"trials", trials}};
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
