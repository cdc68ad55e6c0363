// Calibration observers: turn the statistics of one tensor (TensorStats) into the
// [min, max] range its quantization parameters are chosen from.
//
//   min_max              running min/max of everything observed (keeps outliers)
//   moving_average       EMA of per-batch min/max (StatsOptions::moving_average_momentum)
//   percentile           clips each tail: [P(100 - p), P(p)] of the histogram, with
//                        linear interpolation inside a bin (p = 99.99 clips 0.01%
//                        of the values on each side)
//   mse                  the clipping range minimising the expected squared error of
//                        asymmetric `bits`-bit quantization of the histogram
//                        (rounding noise scale^2/12 inside, squared distance outside)
//   kl                   TensorRT entropy calibration on |x|: for each candidate
//                        threshold, fold the tail into the last bin (P), merge the
//                        bins into `kl_quantized_bins` levels and expand back (Q),
//                        pick the threshold minimising KL(P || Q); range [-T, T]
//                        intersected with [min, max]. Only thresholds keeping at
//                        least kl_min_kept_percent of the values are searched.
#ifndef LITEQ_QUANT_OBSERVERS_H_
#define LITEQ_QUANT_OBSERVERS_H_

#include <string>
#include <string_view>

#include "liteq/status.h"
#include "quant/histogram.h"

namespace liteq::quant {

enum class ObserverKind { kMinMax, kMovingAverageMinMax, kPercentile, kMse, kKl };

// "minmax", "moving_average", "percentile", "mse", "kl".
Result<ObserverKind> ParseObserverKind(std::string_view name);
const char* ObserverKindName(ObserverKind kind);

struct ObserverOptions {
  double percentile = 99.99;
  int bits = 8;                 // mse: asymmetric integer width
  int kl_quantized_bins = 128;  // kl: levels of |x| for a two-sided tensor (TensorRT);
                                // a one-sided one gets 2 * this - 1
  // kl: thresholds below the one keeping this share of |x| are not searched (see
  // observers.cc: TensorRT's KL alone clips the bulk of offset or flat tensors).
  double kl_min_kept_percent = 99.99;
};

struct Range {
  float min = 0.0f;
  float max = 0.0f;
};

// A recipe file rule choosing the observer of the activation tensors (static recipes)
// whose name matches: {"tensors": REGEX, "observer": NAME, "percentile": P}, like an
// ai-edge-quantizer recipe entry's calibration algorithm per tensor-name regex.
struct ObserverRule {
  std::string tensors;  // regex, searched in the activation tensor's name
  ObserverKind observer = ObserverKind::kMinMax;
  double percentile = 99.99;  // percentile observer: kept share
};

// FailedPrecondition when nothing finite was observed.
Result<Range> ComputeRange(const TensorStats& stats, ObserverKind kind,
                           const ObserverOptions& options = {});

// Expected squared quantization error per value of the histogram when quantized
// with asymmetric `bits`-bit parameters chosen from [min, max]. Exposed for tests
// and for reporting.
double ExpectedQuantizationMse(const Histogram& histogram, float min, float max, int bits);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_OBSERVERS_H_
