// Per-tensor quantization error on real token sequences, through the models'
// prefill and decode signatures with a real KV cache (TFLite's QuantizationDebugger
// does the same per op, on single inputs; here every sample is fed as `liteq run`
// would: a full prefill chunk, then its remaining tokens decoded one by one).
//
// Pairing: the static quantizer keeps a tensor's name in the representation its
// producer writes, and names converted copies "<name>/quantized" or
// "<name>/requantized" (static_quantizer.h). So every non-constant int8/int16 tensor
// with one (per-tensor) scale is compared with the float tensor of the reference
// whose name is its own without those suffixes, in the same signature.
//
// End-to-end error: each model is fed its OWN inputs (the same tokens, but every op
// of the quantized model reads the quantized model's upstream tensors), so a tensor's
// error includes everything accumulated before it. That is what a user sees and what
// the issue asks for ("error against the float model's tensor, fed the same inputs"
// means the same token sequences); a tensor far worse than its predecessors marks
// where error is introduced.
//
// Statistics per tensor over every value of every invocation (prefill and decode
// merged, as calibration merges them by name):
//   dequantized = (q - zero_point) * scale; error = dequantized - reference;
//   RMSE = sqrt(mean(error^2)); SNR = 10 log10(sum(reference^2) / sum(error^2)) dB
//   (+inf when the error is exactly zero); channel SNR: the median over the last
//   dimension's channels of the same ratio per channel; clipped = share of reference values outside
//   [(qmin - zp - 1/2) * scale, (qmax - zp + 1/2) * scale], i.e. values that round to a
//   saturated integer. Attention-mask sentinels (|x| >= 1e30, calibration.h) and
//   non-finite reference values are counted apart and not compared.
//
// Error growth: from prompts, the reference model decodes greedily; both models are fed
// the reference's tokens (teacher-forced), and KL(P_ref || P_q) of each step's
// next-token distribution is recorded, so error that compounds through the KV cache
// shows as KL rising with the step.
#ifndef LITEQ_EVAL_QUANT_DEBUGGER_H_
#define LITEQ_EVAL_QUANT_DEBUGGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::eval {

struct QuantDebugOptions {
  int growth_steps = 64;  // decode steps per growth prompt
  int num_threads = 1;
  // Called after each sample, then after each growth prompt: (what, done, total).
  std::function<void(const char*, int, int)> progress;
};

struct TensorError {
  std::string name;       // in the quantized model
  std::string reference;  // the float tensor it is compared with
  int order = 0;          // graph order (first signature that has it, op order)
  std::string dtype;      // "int8" | "int16"
  float scale = 0.0f;
  int64_t zero_point = 0;
  double reference_min = 0.0;  // range of the compared reference values
  double reference_max = 0.0;
  double rmse = 0.0;
  double max_abs_error = 0.0;
  double snr_db = 0.0;  // +inf for an exact match
  // Median over channels (the last dimension; channels whose reference is all zero
  // left out) of each channel's SNR. Outlier channels
  // stretch the scale so that every other channel gets few integer steps; their power
  // dominates the tensor SNR, which then looks healthy while the median channel's is
  // poor. Tensors are ranked by the lower of the two.
  double channel_snr_db = 0.0;
  double clipped_fraction = 0.0;
  uint64_t values = 0;     // compared values
  uint64_t sentinels = 0;  // skipped (mask sentinels, non-finite)
  // Raw sums (kept so reports can be merged and recomputed).
  double sum_signal2 = 0.0;
  double sum_error2 = 0.0;
  uint64_t clipped = 0;
  std::vector<double> channel_signal2, channel_error2;
  // min(snr_db, channel_snr_db): the ranking key.
  double worst_snr_db() const { return snr_db < channel_snr_db ? snr_db : channel_snr_db; }
};

struct QuantDebugReport {
  std::vector<TensorError> tensors;  // graph order
  // Error growth: per decode step, KL(P_ref || P_q) mean and max over the prompts.
  std::vector<double> growth_mean_kl;
  std::vector<double> growth_max_kl;
  int growth_prompts = 0;
  int samples = 0;
  int64_t prefill_tokens = 0;
  int64_t decode_tokens = 0;
  double seconds = 0.0;

  // Indices into `tensors`, lowest worst_snr_db() first (ties: larger RMSE first).
  std::vector<size_t> WorstFirst() const;
};

// Runs both models (same signature keys and prefill lengths, a decode signature) on
// `samples` and on the growth `prompts` (each prompt plus growth_steps must fit
// max_seq). `quantized` may be float too (then nothing is compared: no tensor is
// quantized); comparing a model with itself gives zero error everywhere.
Result<QuantDebugReport> DebugQuantization(std::shared_ptr<const graph::Model> quantized,
                                           std::shared_ptr<const graph::Model> reference,
                                           const std::vector<std::vector<int32_t>>& samples,
                                           const std::vector<std::vector<int32_t>>& prompts,
                                           const QuantDebugOptions& options);

// JSON (stable keys): samples, prefill_tokens, decode_tokens, seconds, tensors (worst
// first, at most `top`, 0 = all) [{name, reference, order, dtype, scale, zero_point,
// reference_min, reference_max, rmse, max_abs_error, snr_db (null = +inf), clipped_fraction,
// values, sentinels}], tensor_count, growth {prompts, steps, mean_kl[], max_kl[]}.
nlohmann::json QuantDebugReportToJson(const QuantDebugReport& report, size_t top);
// The human table (worst first, at most `top` rows) and the growth summary.
std::string FormatQuantDebugReport(const QuantDebugReport& report, size_t top);

}  // namespace liteq::eval

#endif  // LITEQ_EVAL_QUANT_DEBUGGER_H_
