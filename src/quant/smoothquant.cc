#include "quant/smoothquant.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "quant/mlp_scaling.h"
#include "quant/norm_scaling.h"

namespace liteq::quant {

std::vector<float> SmoothingScales(std::span<const float> activation_abs_max,
                                   std::span<const float> weight_abs_max, float alpha) {
  std::vector<float> s(activation_abs_max.size(), 1.0f);
  for (size_t j = 0; j < s.size() && j < weight_abs_max.size(); ++j) {
    const double x = activation_abs_max[j];
    const double w = weight_abs_max[j];
    if (!(x > 0) || !(w > 0) || !std::isfinite(x) || !std::isfinite(w)) continue;
    const double v = std::pow(x, alpha) / std::pow(w, 1.0 - alpha);
    s[j] = static_cast<float>(std::clamp(v, 1e-5, 1e5));
  }
  return s;
}

Result<SmoothQuantReport> ApplySmoothQuant(graph::Model& model,
                                           const std::vector<std::vector<int32_t>>& samples,
                                           const SmoothQuantOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (!(options.alpha >= 0.0f && options.alpha <= 1.0f)) {
    return InvalidArgumentError("--smoothquant alpha must be in [0, 1]");
  }
  if (model.metadata.count("liteq.quantization") != 0) {
    return FailedPreconditionError("SmoothQuant applies to the float model, before quantizing");
  }
  LITEQ_ASSIGN_OR_RETURN(std::vector<NormScalingSite> sites, FindNormScalingSites(model));
  if (sites.empty()) {
    return FailedPreconditionError(
        "SmoothQuant: the model has no norm whose output feeds only linear layers");
  }
  CalibrationOptions calibration = options.calibration;
  calibration.collect_histograms = false;
  calibration.channel_abs_max_tensors.clear();
  for (const NormScalingSite& site : sites) {
    calibration.channel_abs_max_tensors.push_back(site.norm_output);
  }
  // down_proj's input through up_proj (mlp_scaling.h). Its statistics are those of the
  // float model: the norm rewrites above leave every activation but the norm outputs
  // unchanged, so one calibration run serves both.
  LITEQ_ASSIGN_OR_RETURN(std::vector<MlpScalingSite> mlp_sites, FindMlpScalingSites(model));
  for (const MlpScalingSite& site : mlp_sites) {
    calibration.channel_abs_max_tensors.push_back(site.hidden);
  }
  // The interpreter gets its own copy of the graph (buffers are shared, not copied).
  LITEQ_ASSIGN_OR_RETURN(
      CalibrationResult stats,
      Calibrate(std::make_shared<const graph::Model>(model), samples, calibration));
  SmoothQuantReport report;
  report.min_scale = 1.0f;
  report.max_scale = 1.0f;
  nlohmann::json smoothed = nlohmann::json::array();
  nlohmann::json smoothed_mlps = nlohmann::json::array();
  // The smoothing factors of the activation `name` against `weight_max`.
  auto scales = [&](const std::string& name, int64_t channels,
                    const std::vector<float>& weight_max) -> Result<std::vector<float>> {
    auto it = stats.channel_abs_max.find(name);
    if (it == stats.channel_abs_max.end() || static_cast<int64_t>(it->second.size()) != channels) {
      return InternalError("SmoothQuant: no per-channel statistics for '" + name + "'");
    }
    std::vector<float> s = SmoothingScales(it->second, weight_max, options.alpha);
    for (float v : s) {
      report.min_scale = std::min(report.min_scale, v);
      report.max_scale = std::max(report.max_scale, v);
    }
    return s;
  };
  for (const NormScalingSite& site : sites) {
    LITEQ_ASSIGN_OR_RETURN(std::vector<float> weight_max, WeightColumnAbsMax(model, site));
    LITEQ_ASSIGN_OR_RETURN(std::vector<float> s,
                           scales(site.norm_output, site.channels, weight_max));
    LITEQ_RETURN_IF_ERROR(ScaleNormChannels(model, site, s, "+smooth"));
    report.norm_outputs.push_back(site.norm_output);
    smoothed.push_back(site.norm_output);
  }
  for (const MlpScalingSite& site : mlp_sites) {
    LITEQ_ASSIGN_OR_RETURN(std::vector<float> weight_max, DownColumnAbsMax(model, site));
    LITEQ_ASSIGN_OR_RETURN(std::vector<float> s, scales(site.hidden, site.channels, weight_max));
    LITEQ_RETURN_IF_ERROR(ScaleMlpChannels(model, site, s, "+smooth"));
    report.mlp_hiddens.push_back(site.hidden);
    smoothed_mlps.push_back(site.hidden);
  }
  report.sites = static_cast<int>(sites.size());
  model.metadata["liteq.smoothquant"] = nlohmann::json{
      {"alpha", options.alpha},
      {"calibration_samples", stats.samples},
      {"norm_outputs", smoothed},
      {"mlp_hiddens", smoothed_mlps}}.dump();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace liteq::quant
