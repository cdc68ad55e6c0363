// Text and JSON forms of a QuantDebugReport (quant_debugger.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "eval/quant_debugger.h"

namespace liteq::eval {
namespace {

// JSON has no infinity: +inf SNR (exact match) is written as null.
nlohmann::json Finite(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

std::string Snr(double snr) {
  if (std::isinf(snr)) return snr > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", snr);
  return buf;
}

}  // namespace

nlohmann::json QuantDebugReportToJson(const QuantDebugReport& report, size_t top) {
  nlohmann::json tensors = nlohmann::json::array();
  const std::vector<size_t> order = report.WorstFirst();
  for (size_t i = 0; i < order.size() && (top == 0 || i < top); ++i) {
    const TensorError& e = report.tensors[order[i]];
    tensors.push_back({{"name", e.name},
                       {"reference", e.reference},
                       {"order", e.order},
                       {"dtype", e.dtype},
                       {"scale", e.scale},
                       {"zero_point", e.zero_point},
                       {"reference_min", e.reference_min},
                       {"reference_max", e.reference_max},
                       {"rmse", e.rmse},
                       {"max_abs_error", e.max_abs_error},
                       {"snr_db", Finite(e.snr_db)},
                       {"channel_snr_db", Finite(e.channel_snr_db)},
                       {"clipped_fraction", e.clipped_fraction},
                       {"values", e.values},
                       {"sentinels", e.sentinels}});
  }
  return {{"samples", report.samples},
          {"prefill_tokens", report.prefill_tokens},
          {"decode_tokens", report.decode_tokens},
          {"seconds", report.seconds},
          {"tensor_count", report.tensors.size()},
          {"tensors", tensors},
          {"growth",
           {{"prompts", report.growth_prompts},
            {"steps", report.growth_mean_kl.size()},
            {"mean_kl", report.growth_mean_kl},
            {"max_kl", report.growth_max_kl}}}};
}

std::string FormatQuantDebugReport(const QuantDebugReport& report, size_t top) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof(line),
                "%zu quantized tensors compared over %d samples (%lld prefill + %lld decode "
                "tokens), %.1f s; worst first (SNR = 10 log10(signal/error power)):\n",
                report.tensors.size(), report.samples,
                static_cast<long long>(report.prefill_tokens),
                static_cast<long long>(report.decode_tokens), report.seconds);
  out += line;
  std::snprintf(line, sizeof(line), "%-44s %-5s %10s %5s %22s %10s %10s %8s %8s %8s\n", "tensor",
                "dtype", "scale", "zp", "float range", "RMSE", "max |err|", "SNR dB", "chan SNR",
                "clipped");
  out += line;
  const std::vector<size_t> order = report.WorstFirst();
  for (size_t i = 0; i < order.size() && (top == 0 || i < top); ++i) {
    const TensorError& e = report.tensors[order[i]];
    std::string name = e.name;
    if (name.size() > 44) name = "..." + name.substr(name.size() - 41);
    char range[64];
    std::snprintf(range, sizeof(range), "[%.3g, %.3g]", e.reference_min, e.reference_max);
    std::snprintf(line, sizeof(line),
                  "%-44s %-5s %10.4g %5lld %22s %10.4g %10.4g %8s %8s %7.3f%%\n", name.c_str(),
                  e.dtype.c_str(), e.scale, static_cast<long long>(e.zero_point), range, e.rmse,
                  e.max_abs_error, Snr(e.snr_db).c_str(), Snr(e.channel_snr_db).c_str(),
                  100.0 * e.clipped_fraction);
    out += line;
  }
  if (top != 0 && order.size() > top) {
    std::snprintf(line, sizeof(line), "... %zu more (--top 0 for all)\n", order.size() - top);
    out += line;
  }
  if (!report.growth_mean_kl.empty()) {
    const auto& kl = report.growth_mean_kl;
    std::snprintf(line, sizeof(line),
                  "error growth: KL(float || quantized) per decode step, teacher-forced greedy "
                  "continuation of the float model, mean over %d prompts:\n",
                  report.growth_prompts);
    out += line;
    const size_t n = kl.size();
    for (size_t s = 0; s < n; s += (n > 16 ? n / 16 : 1)) {
      std::snprintf(line, sizeof(line), "  step %3zu  mean KL %.6f  max KL %.6f\n", s, kl[s],
                    report.growth_max_kl[s]);
      out += line;
    }
    double first = 0, last = 0;
    const size_t quarter = std::max<size_t>(1, n / 4);
    for (size_t s = 0; s < quarter; ++s) first += kl[s] / quarter;
    for (size_t s = n - quarter; s < n; ++s) last += kl[s] / quarter;
    std::snprintf(line, sizeof(line), "  first quarter mean KL %.6f, last quarter %.6f\n", first,
                  last);
    out += line;
  }
  return out;
}

}  // namespace liteq::eval
