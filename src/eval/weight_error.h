// Quantization error of the weights themselves (the `weights` part of `liteq debug`):
// every integer constant of the quantized model with scales (int8, int4, int16; per
// tensor, per channel, or int4 blocks stored as per-row scales of a [blocks, block]
// reshape) is dequantized and compared with the float constant of the reference
// that has its name without the ".int8"/".int4"/".int16" suffix and the same number
// of elements, in the same signature's subgraph (each buffer once).
//   error = scale[c] * (q - zero_point[c]) - reference; RMSE, max |error|,
//   SNR = 10 log10(sum(reference^2) / sum(error^2)) dB (+inf when exact), and the
//   median over channels (the quantized dimension, or rows for per-tensor scales) of
//   each channel's SNR.
// Activation errors (quant_debugger.h) include the weights' error where it shows
// up; this table says which weights are to blame.
#ifndef LITEQ_EVAL_WEIGHT_ERROR_H_
#define LITEQ_EVAL_WEIGHT_ERROR_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::eval {

struct WeightError {
  std::string name;       // in the quantized model
  std::string reference;  // the float constant compared with
  std::string dtype;      // int8 | int4 | int16
  std::string granularity;  // "tensor" | "channel" | "block N"
  int64_t values = 0;
  double rmse = 0.0;
  double max_abs_error = 0.0;
  double snr_db = 0.0;          // +inf when exact
  double channel_snr_db = 0.0;  // median over channels
  double worst_snr_db() const { return snr_db < channel_snr_db ? snr_db : channel_snr_db; }
};

// Worst first (lowest worst_snr_db()). Constants without a float counterpart in
// `reference` (e.g. biases quantized to int32, shapes) are left out.
Result<std::vector<WeightError>> CompareWeights(const graph::Model& quantized,
                                                const graph::Model& reference);

nlohmann::json WeightErrorsToJson(const std::vector<WeightError>& errors, size_t top);
std::string FormatWeightErrors(const std::vector<WeightError>& errors, size_t top);

}  // namespace liteq::eval

#endif  // LITEQ_EVAL_WEIGHT_ERROR_H_
