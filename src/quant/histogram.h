// Activation statistics for calibration: one pass over the data feeds every observer
// (observers.h). The histogram grows its range the way PyTorch's HistogramObserver
// does (a batch outside the current range widens it and the old counts are re-binned),
// but liteq only ever widens the bin width by powers of two and shifts the origin by
// whole new bins, so every old bin falls entirely inside one new bin: re-binning is
// exact (counts are never smeared across bins), only resolution is lost.
#ifndef LITEQ_QUANT_HISTOGRAM_H_
#define LITEQ_QUANT_HISTOGRAM_H_

#include <cstdint>
#include <span>
#include <vector>

namespace liteq::quant {

class Histogram {
 public:
  explicit Histogram(int num_bins);

  // Adds values (all finite) whose minimum and maximum are batch_min/batch_max.
  void Add(std::span<const float> values, float batch_min, float batch_max);

  bool empty() const { return total_ == 0; }
  int num_bins() const { return static_cast<int>(counts_.size()); }
  double lower() const { return lower_; }
  double bin_width() const { return width_; }
  double upper() const { return lower_ + width_ * num_bins(); }
  double bin_lower(int i) const { return lower_ + width_ * i; }
  const std::vector<uint64_t>& counts() const { return counts_; }
  uint64_t total() const { return total_; }

 private:
  // Widens and/or shifts the range so it covers [lo, hi] (and the old contents).
  void Cover(double lo, double hi);
  int BinIndex(double x) const;

  std::vector<uint64_t> counts_;
  double lower_ = 0.0;
  double width_ = 0.0;
  double occupied_min_ = 0.0;  // smallest and largest value added so far
  double occupied_max_ = 0.0;
  uint64_t total_ = 0;
};

struct StatsOptions {
  int num_bins = 2048;
  // Exponential moving average of per-batch min/max: m = momentum * m + (1 -
  // momentum) * batch. 0.99 equals PyTorch MovingAverageMinMaxObserver's
  // averaging_constant 0.01 (TF's fake-quant EMA uses decay 0.999). The first batch
  // initialises the averages (PyTorch's convention) rather than starting from 0.
  // What a batch is matters: calibration (calibration.h) makes one batch of each
  // calibration sample (its prefill and all its decode steps), the forward pass PyTorch
  // would observe. Averaging per invocation instead let ~2000 one-token decode steps
  // (whose min/max are a single token's) outweigh the 96 prefills, and the final
  // average tracked the last ~100 decode steps: ranges ~2x too narrow, +22% PPL.
  double moving_average_momentum = 0.99;
};

// Everything observers need about one tensor, collected once.
class TensorStats {
 public:
  explicit TensorStats(StatsOptions options = {});

  // One calibration batch. Non-finite values are counted and otherwise ignored.
  // Same as ObservePart(batch) followed by EndBatch().
  void Observe(std::span<const float> batch);
  // Part of a batch: min/max and histogram are updated now, the moving average only
  // when the batch ends (with the min/max over all of its parts).
  void ObservePart(std::span<const float> values);
  // Ends the current batch (nothing happens if it observed no finite value).
  void EndBatch();

  uint64_t count() const { return histogram_.total(); }
  uint64_t nonfinite_count() const { return nonfinite_; }
  uint64_t batches() const { return batches_; }
  float min() const { return min_; }
  float max() const { return max_; }
  // The moving averages, counting a batch that has not ended yet as if it had.
  double moving_min() const;
  double moving_max() const;
  const Histogram& histogram() const { return histogram_; }

 private:
  StatsOptions options_;
  Histogram histogram_;
  float min_ = 0.0f;
  float max_ = 0.0f;
  double moving_min_ = 0.0;
  double moving_max_ = 0.0;
  uint64_t batches_ = 0;     // ended batches with at least one finite value
  bool batch_open_ = false;  // the current batch has observed a finite value
  float batch_min_ = 0.0f;
  float batch_max_ = 0.0f;
  uint64_t nonfinite_ = 0;
};

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_HISTOGRAM_H_
