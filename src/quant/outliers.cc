#include "quant/outliers.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "quant/norm_scaling.h"

namespace liteq::quant {
namespace {

constexpr const char* kSuffix = "+outliers";

Result<int> ParseLayerIndex(const std::string& text, const std::string& spec) {
  if (text.empty() || text.size() > 6 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgumentError("--inject-outliers '" + spec + "': '" + text +
                                "' is not a layer index (expected \"all\" or e.g. \"1,3\")");
  }
  return std::atoi(text.c_str());
}

}  // namespace

Result<OutlierOptions> ParseOutlierSpec(const std::string& spec) {
  OutlierOptions options;
  std::string layers = spec;
  if (const size_t colon = spec.find(':'); colon != std::string::npos) {
    layers = spec.substr(0, colon);
    const std::string factor = spec.substr(colon + 1);
    char* end = nullptr;
    const double f = std::strtod(factor.c_str(), &end);
    if (factor.empty() || end != factor.c_str() + factor.size() || !std::isfinite(f) || f <= 0 ||
        f > 1e6) {
      return InvalidArgumentError("--inject-outliers '" + spec + "': factor '" + factor +
                                  "' must be a positive number");
    }
    options.factor = static_cast<float>(f);
  }
  if (layers != "all") {
    size_t start = 0;
    while (start <= layers.size()) {
      const size_t comma = std::min(layers.find(',', start), layers.size());
      LITEQ_ASSIGN_OR_RETURN(int layer, ParseLayerIndex(layers.substr(start, comma - start), spec));
      options.layers.push_back(layer);
      start = comma + 1;
    }
  }
  return options;
}

Result<OutlierReport> InjectActivationOutliers(graph::Model& model, const OutlierOptions& options) {
  if (model.metadata.count("liteq.quantization") != 0) {
    return FailedPreconditionError("outliers are injected into the float model, before quantizing");
  }
  if (model.metadata.count("liteq.outliers") != 0) {
    return FailedPreconditionError("the model already has injected outliers");
  }
  if (!std::isfinite(options.factor) || options.factor <= 0.0f) {
    return InvalidArgumentError("outlier factor must be positive");
  }
  LITEQ_ASSIGN_OR_RETURN(std::vector<NormScalingSite> all, FindNormScalingSites(model));
  const std::set<int> wanted(options.layers.begin(), options.layers.end());
  std::vector<const NormScalingSite*> chosen;
  std::set<int> found;
  for (const NormScalingSite& site : all) {
    const bool kind_ok = (site.kind == NormSiteKind::kAttention && options.attention) ||
                         (site.kind == NormSiteKind::kMlp && options.mlp);
    if (!kind_ok || site.layer < 0) continue;
    if (!wanted.empty() && wanted.count(site.layer) == 0) continue;
    chosen.push_back(&site);
    found.insert(site.layer);
  }
  for (int layer : wanted) {
    if (found.count(layer) == 0) {
      std::string have;
      std::set<int> layers;
      for (const NormScalingSite& s : all) layers.insert(s.layer);
      for (int l : layers) have += (have.empty() ? "" : ",") + std::to_string(l);
      return InvalidArgumentError("outlier injection: layer " + std::to_string(layer) +
                                  " has no norm feeding only linear layers (layers with one: " +
                                  (have.empty() ? "none" : have) + ")");
    }
  }
  if (chosen.empty()) {
    return FailedPreconditionError(
        "outlier injection: the model has no pre-attention/pre-MLP norm feeding only linear "
        "layers");
  }
  OutlierReport report;
  report.factor = options.factor;
  nlohmann::json sites = nlohmann::json::array();
  for (const NormScalingSite* site : chosen) {
    const int64_t d = site->channels;
    std::vector<int64_t> channels = options.channels;
    if (channels.empty()) {
      const int64_t n = options.num_channels > 0
                            ? std::min<int64_t>(options.num_channels, d)
                            : std::max<int64_t>(1, static_cast<int64_t>(std::lround(0.02 * d)));
      for (int64_t k = 0; k < n; ++k) channels.push_back(((2 * k + 1) * d) / (2 * n));
    }
    std::vector<float> s(static_cast<size_t>(d), 1.0f);
    for (int64_t c : channels) {
      if (c < 0 || c >= d) {
        return InvalidArgumentError("outlier channel " + std::to_string(c) + " out of range for '" +
                                    site->norm_output + "' (" + std::to_string(d) + " channels)");
      }
      // ScaleNormChannels divides the multiplier by s: s = 1 / factor multiplies it.
      s[static_cast<size_t>(c)] = 1.0f / options.factor;
    }
    LITEQ_RETURN_IF_ERROR(ScaleNormChannels(model, *site, s, kSuffix));
    InjectedSite out{site->layer, site->norm_output, site->multiplier_name + kSuffix, {}};
    for (const std::string& w : site->weight_names) out.weights.push_back(w + kSuffix);
    sites.push_back({{"layer", out.layer}, {"norm_output", out.norm_output}});
    report.channels = channels;
    report.sites.push_back(std::move(out));
  }
  model.metadata["liteq.outliers"] = nlohmann::json{
      {"factor", options.factor},
      {"channels", report.channels},
      {"sites", sites}}.dump();
  return report;
}

}  // namespace liteq::quant
