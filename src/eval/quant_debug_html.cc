#include "eval/quant_debug_html.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

namespace liteq::eval {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

std::string SnrText(double snr) {
  if (std::isinf(snr)) return snr > 0 ? "exact" : "-inf";
  return Format("%.2f", snr);
}

// "layers.3.mlp.up" -> 3; -1 when the name is not in a layer.
int LayerOf(const std::string& name) {
  if (name.rfind("layers.", 0) != 0) return -1;
  int layer = 0;
  size_t i = 7;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    layer = std::min(layer * 10 + (name[i] - '0'), 1 << 20);
  }
  return layer;
}

constexpr double kChartHeight = 240.0;
constexpr double kLeft = 48.0, kTop = 12.0, kBottom = 28.0;

std::string SnrChart(const QuantDebugReport& report) {
  const size_t n = report.tensors.size();
  const double bar = n > 400 ? 2.0 : n > 150 ? 4.0 : 8.0;
  double lo = 0.0, hi = 10.0;
  for (const TensorError& e : report.tensors) {
    if (std::isfinite(e.snr_db)) {
      lo = std::min(lo, e.snr_db);
      hi = std::max(hi, e.snr_db);
    }
  }
  const double cap = hi + 10.0;  // where exact matches (+inf) are drawn
  const double width = kLeft + bar * static_cast<double>(n) + 12.0;
  const double height = kTop + kChartHeight + kBottom;
  auto y_of = [&](double snr) { return kTop + kChartHeight * (1.0 - (snr - lo) / (cap - lo)); };
  std::string s = "<svg id=\"snr-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                  Format("%.0f", width) + "\" height=\"" + Format("%.0f", height) + "\">\n";
  for (double tick = std::ceil(lo / 10.0) * 10.0; tick <= cap; tick += 10.0) {
    const std::string y = Format("%.1f", y_of(tick));
    s += "<line class=\"grid\" x1=\"" + Format("%.0f", kLeft) + "\" x2=\"" + Format("%.0f", width) +
         "\" y1=\"" + y + "\" y2=\"" + y + "\"/><text class=\"tick\" x=\"" +
         Format("%.0f", kLeft - 4) + "\" y=\"" + y + "\" text-anchor=\"end\">" +
         Format("%.0f", tick) + "</text>\n";
  }
  int previous_layer = -2;
  for (size_t i = 0; i < n; ++i) {
    const TensorError& e = report.tensors[i];
    const double x = kLeft + bar * static_cast<double>(i);
    const int layer = LayerOf(e.name);
    if (layer != previous_layer) {
      s += "<line class=\"layer\" x1=\"" + Format("%.1f", x) + "\" x2=\"" + Format("%.1f", x) +
           "\" y1=\"" + Format("%.0f", kTop) + "\" y2=\"" + Format("%.0f", kTop + kChartHeight) +
           "\"/><text class=\"tick\" x=\"" + Format("%.1f", x + 2) + "\" y=\"" +
           Format("%.0f", kTop + kChartHeight + 14) + "\">" +
           (layer >= 0 ? "L" + std::to_string(layer) : std::string("·")) + "</text>\n";
      previous_layer = layer;
    }
    const double snr = std::isfinite(e.snr_db) ? e.snr_db : (e.snr_db > 0 ? cap : lo);
    const double top = std::min(y_of(snr), kTop + kChartHeight - 1.0);  // at least 1 px
    const char* color = !std::isfinite(e.snr_db) ? "#6a6"
                        : e.snr_db < 20          ? "#c33"
                        : e.snr_db < 30          ? "#e90"
                                                 : "#48c";
    s += "<rect class=\"snr-bar\" x=\"" + Format("%.1f", x) + "\" y=\"" + Format("%.1f", top) +
         "\" width=\"" + Format("%.1f", std::max(1.0, bar - 0.5)) + "\" height=\"" +
         Format("%.1f", kTop + kChartHeight - top) + "\" fill=\"" + color + "\"><title>" +
         Escape(e.name) + ": SNR " + SnrText(e.snr_db) + " dB</title></rect>\n";
  }
  s += "<text class=\"axis\" x=\"4\" y=\"" + Format("%.0f", kTop + 10) + "\">dB</text>\n</svg>\n";
  return s;
}

std::string GrowthChart(const QuantDebugReport& report) {
  const auto& kl = report.growth_mean_kl;
  if (kl.empty()) return "<p>No decode growth measured.</p>\n";
  const double step_w = 8.0;
  const double width = kLeft + step_w * static_cast<double>(kl.size()) + 12.0;
  double hi = 1e-9;
  for (double v : kl) hi = std::max(hi, v);
  auto y_of = [&](double v) { return kTop + kChartHeight * (1.0 - v / (hi * 1.1)); };
  std::string s = "<svg id=\"growth-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                  Format("%.0f", width) + "\" height=\"" +
                  Format("%.0f", kTop + kChartHeight + kBottom) + "\">\n";
  for (int i = 0; i <= 4; ++i) {
    const double v = hi * 1.1 * i / 4.0;
    const std::string y = Format("%.1f", y_of(v));
    s += "<line class=\"grid\" x1=\"" + Format("%.0f", kLeft) + "\" x2=\"" + Format("%.0f", width) +
         "\" y1=\"" + y + "\" y2=\"" + y + "\"/><text class=\"tick\" x=\"" +
         Format("%.0f", kLeft - 4) + "\" y=\"" + y + "\" text-anchor=\"end\">" + Format("%.3g", v) +
         "</text>\n";
  }
  std::string points;
  std::string circles;
  for (size_t i = 0; i < kl.size(); ++i) {
    const std::string x = Format("%.1f", kLeft + step_w * (static_cast<double>(i) + 0.5));
    const std::string y = Format("%.2f", y_of(kl[i]));
    points += x + "," + y + " ";
    circles += "<circle class=\"growth-point\" cx=\"" + x + "\" cy=\"" + y +
               "\" r=\"2.5\"><title>step " + std::to_string(i) + ": mean KL " +
               Format("%.6f", kl[i]) + "</title></circle>\n";
    if (i % 8 == 0) {
      s += "<text class=\"tick\" x=\"" + x + "\" y=\"" + Format("%.0f", kTop + kChartHeight + 14) +
           "\" text-anchor=\"middle\">" + std::to_string(i) + "</text>\n";
    }
  }
  s += "<polyline fill=\"none\" stroke=\"#c33\" stroke-width=\"1.5\" points=\"" + points + "\"/>\n";
  s += circles + "</svg>\n";
  return s;
}

std::string Table(const QuantDebugReport& report) {
  std::string s =
      "<table id=\"tensor-table\"><thead><tr><th>#</th><th>tensor</th><th>dtype</th>"
      "<th>scale</th><th>zero point</th><th>float min</th><th>float max</th><th>RMSE</th>"
      "<th>max |err|</th><th>SNR dB</th><th>median channel SNR dB</th><th>clipped</th></tr></thead><tbody>\n";
  const std::vector<size_t> order = report.WorstFirst();
  for (size_t rank = 0; rank < order.size(); ++rank) {
    const TensorError& e = report.tensors[order[rank]];
    s += "<tr class=\"tensor-row\"><td>" + std::to_string(rank + 1) + "</td><td>" + Escape(e.name) +
         "</td><td>" + e.dtype + "</td><td>" + Format("%.4g", e.scale) + "</td><td>" +
         std::to_string(e.zero_point) + "</td><td>" + Format("%.4g", e.reference_min) +
         "</td><td>" + Format("%.4g", e.reference_max) + "</td><td>" + Format("%.4g", e.rmse) +
         "</td><td>" + Format("%.4g", e.max_abs_error) + "</td><td>" + SnrText(e.snr_db) +
         "</td><td>" + SnrText(e.channel_snr_db) + "</td><td>" + Format("%.3f%%", 100.0 * e.clipped_fraction) + "</td></tr>\n";
  }
  return s + "</tbody></table>\n";
}

constexpr const char* kStyle =
    "body{font-family:sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;font-size:13px}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    "td:nth-child(2){text-align:left;font-family:monospace}"
    "svg{display:block;margin:8px 0 24px 0;background:#fafafa}"
    ".grid{stroke:#ddd}.layer{stroke:#999;stroke-dasharray:3 3}"
    ".tick,.axis{font-size:10px;fill:#555}.chart{overflow-x:auto}";

// Counts the bars that have a layout box once the page has rendered.
constexpr const char* kScript =
    "(function(){var n=0;var bars=document.querySelectorAll('#snr-chart rect.snr-bar');"
    "for(var i=0;i<bars.length;i++){var b=bars[i].getBBox();if(b.width>0&&b.height>0)n++;}"
    "document.body.setAttribute('data-bars-rendered',String(n));})();";

}  // namespace

std::string RenderQuantDebugHtml(const QuantDebugReport& report, const QuantDebugHtmlInfo& info) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>liteq debug: " +
      Escape(info.model) + "</title><style>" + kStyle +
      "</style></head>\n<body data-bars-rendered=\"0\">\n";
  html += "<h1>Quantization error: " + Escape(info.model) + "</h1>\n";
  html += "<p>Reference: " + Escape(info.reference) + "<br>Samples: " + Escape(info.data) + ", " +
          std::to_string(report.samples) + " sequences (" + std::to_string(report.prefill_tokens) +
          " prefill + " + std::to_string(report.decode_tokens) +
          " decode tokens). Each model runs on its own activations (end-to-end error). " +
          std::to_string(report.tensors.size()) + " quantized tensors compared.</p>\n";
  html += "<h2>SNR per tensor, graph order (dB, higher is better; green = exact)</h2>\n";
  html += "<div class=\"chart\">" + SnrChart(report) + "</div>\n";
  html += "<h2>Error growth across decode steps (KL float || quantized, mean over " +
          std::to_string(report.growth_prompts) + " prompts)</h2>\n";
  html += "<div class=\"chart\">" + GrowthChart(report) + "</div>\n";
  html += "<h2>Tensors, worst first</h2>\n" + Table(report);
  html += "<script>" + std::string(kScript) + "</script>\n</body></html>\n";
  return html;
}

}  // namespace liteq::eval
