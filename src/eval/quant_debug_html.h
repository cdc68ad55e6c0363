// A self-contained HTML report of a QuantDebugReport (quant_debugger.h): no external
// scripts, styles or fonts, so it opens from disk anywhere. Inline SVG charts: SNR per
// quantized tensor in graph order (one bar per tensor, layers separated) and the KL
// growth over decode steps; then the table, worst first. A few lines of inline script
// record in <body data-bars-rendered="N"> how many bars got a layout box, so a headless
// browser's DOM dump shows that the chart actually rendered.
#ifndef LITEQ_EVAL_QUANT_DEBUG_HTML_H_
#define LITEQ_EVAL_QUANT_DEBUG_HTML_H_

#include <string>

#include "eval/quant_debugger.h"

namespace liteq::eval {

struct QuantDebugHtmlInfo {
  std::string model;  // shown in the title
  std::string reference;
  std::string data;
};

std::string RenderQuantDebugHtml(const QuantDebugReport& report, const QuantDebugHtmlInfo& info);

}  // namespace liteq::eval

#endif  // LITEQ_EVAL_QUANT_DEBUG_HTML_H_
