// Calibration: run the float model on real token sequences through its prefill and
// decode signatures with a real KV cache (so cache, attention and softmax ranges are
// the ones seen at inference) and collect the statistics of every float activation.
//
// Each sample is fed the way `liteq run` would: a sample at least as long as a prefill
// signature is prefilled with exactly that many tokens (no padding, so padded rows
// never pollute the statistics) and its remaining tokens are decoded one at a time;
// shorter samples are decoded token by token from position 0, which covers short
// sequences and the first cache positions. Statistics are keyed by tensor name, which
// the prefill and decode subgraphs share, so both get the same parameters (they must:
// they share the KV cache). Each sample is one batch of the moving-average observer
// (histogram.h StatsOptions::moving_average_momentum).
//
// Attention masks hold the float minimum for hidden keys. Such values (|x| >= 1e30)
// are counted as "sentinels" and kept out of the histograms; the quantizer gives a
// mask tensor parameters that saturate them (static_quantizer.cc).
#ifndef LITEQ_QUANT_CALIBRATION_H_
#define LITEQ_QUANT_CALIBRATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"
#include "quant/histogram.h"
#include "quant/observers.h"
#include "quant/static_quantizer.h"
#include "tokenizer/tokenizer.h"

namespace liteq::quant {

inline constexpr float kSentinelMagnitude = 1e30f;

struct CalibrationOptions {
  int num_samples = 128;
  // Longest prefill signature used; samples are cut to prefill + decode_tokens.
  int decode_tokens = 16;
  StatsOptions stats;
  int num_threads = 1;
  // Tensors whose per-channel (last dimension) max |x| is also recorded
  // (CalibrationResult::channel_abs_max), e.g. SmoothQuant's norm outputs.
  std::vector<std::string> channel_abs_max_tensors;
  // false: observe only `channel_abs_max_tensors`, without histograms (a cheaper pass).
  bool collect_histograms = true;
  // Called after each sample (done, total).
  std::function<void(int, int)> progress;
};

struct TensorCalibration {
  TensorStats stats;
  uint64_t sentinels = 0;  // values with |x| >= kSentinelMagnitude (masks)
};

struct CalibrationResult {
  std::map<std::string, TensorCalibration> tensors;  // by tensor name
  // Tensors not observed because they hold exactly what another tensor wrote: the KV
  // cache (state inputs and DYNAMIC_UPDATE_SLICE outputs) -> the update written into
  // it. Observing them would re-read the whole cache after every step.
  std::map<std::string, std::string> aliases;
  // Per-channel max |x| of CalibrationOptions::channel_abs_max_tensors (by name).
  std::map<std::string, std::vector<float>> channel_abs_max;
  int samples = 0;
  int64_t prefill_tokens = 0;
  int64_t decode_tokens = 0;
  double seconds = 0;
};

// Calibration samples from a JSONL file: lines {"text": ...} are tokenized (BOS +
// ids, no EOS) and concatenated, lines {"ids": [...]} or bare arrays of ids are used
// as they are. The token stream is cut into `num_samples` samples of varying length:
// every fourth sample is short (prefill_length / 8 tokens, decoded one by one), the
// others long (prefill_length + decode_tokens). Fewer
// samples come back when the file runs out. `tokenizer` may be null when the file
// holds ids only. Ids in `skip_ids` (the pad token) are dropped from id lines before
// the stream is cut: a pad position is masked out of attention in the source
// framework and its embedding row is often zero, which calibration would record as a
// norm input of 0 (a 1/sqrt(eps) normalization factor stretching every range).
Result<std::vector<std::vector<int32_t>>> LoadCalibrationSamples(
    const std::string& path, const tokenizer::Tokenizer* tokenizer, int num_samples,
    int prefill_length, int decode_tokens, const std::vector<int32_t>& skip_ids = {});

// Runs `model` (float, liteq's signature layout) on the samples and collects the
// statistics of every float32 non-constant tensor of every signature.
Result<CalibrationResult> Calibrate(std::shared_ptr<const graph::Model> model,
                                    const std::vector<std::vector<int32_t>>& samples,
                                    const CalibrationOptions& options);

// The range of every calibrated tensor under one observer (tensors that never held
// a finite non-sentinel value are left out).
Result<ActivationRanges> ComputeActivationRanges(const CalibrationResult& calibration,
                                                 ObserverKind observer,
                                                 const ObserverOptions& options = {});
// The same with per-tensor observers: the first rule whose regex is found in a tensor's
// name decides its observer (and percentile), the others take `observer`. A rule that
// matches no calibrated tensor is an error (a typo must not silently change nothing).
Result<ActivationRanges> ComputeActivationRanges(const CalibrationResult& calibration,
                                                 ObserverKind observer,
                                                 const ObserverOptions& options,
                                                 const std::vector<ObserverRule>& rules);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_CALIBRATION_H_
