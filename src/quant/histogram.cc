#include "quant/histogram.h"

#include <algorithm>
#include <cmath>

#include "liteq/status.h"

namespace liteq::quant {

Histogram::Histogram(int num_bins) : counts_(static_cast<size_t>(num_bins), 0) {
  LITEQ_CHECK(num_bins >= 2);
}

int Histogram::BinIndex(double x) const {
  const double pos = std::floor((x - lower_) / width_);
  if (!(pos >= 0.0)) return 0;
  if (pos >= num_bins() - 1) return num_bins() - 1;
  return static_cast<int>(pos);
}

void Histogram::Cover(double lo, double hi) {
  const int n = num_bins();
  lo = std::min(lo, occupied_min_);
  hi = std::max(hi, occupied_max_);
  if (lo >= lower_ && hi <= upper()) return;
  // Find the smallest power-of-two widening (then the smallest whole-bin shift of
  // the origin) that covers [lo, hi].
  int doublings = 0;
  double width = width_;
  int64_t shift = 0;
  for (;; ++doublings, width *= 2.0) {
    shift = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((lower_ - lo) / width)));
    if (lower_ - static_cast<double>(shift) * width + width * n >= hi && shift < n) break;
    LITEQ_CHECK(doublings < 2100);  // doubles overflow long before this
  }
  std::vector<uint64_t> merged(counts_.size(), 0);
  for (int i = 0; i < n; ++i) {
    if (counts_[static_cast<size_t>(i)] == 0) continue;
    const int64_t j = (static_cast<int64_t>(i) >> doublings) + shift;
    merged[static_cast<size_t>(std::clamp<int64_t>(j, 0, n - 1))] +=
        counts_[static_cast<size_t>(i)];
  }
  counts_.swap(merged);
  lower_ -= static_cast<double>(shift) * width;
  width_ = width;
}

void Histogram::Add(std::span<const float> values, float batch_min, float batch_max) {
  if (values.empty()) return;
  if (total_ == 0) {
    double span = static_cast<double>(batch_max) - batch_min;
    if (!(span > 0.0)) {
      // A constant first batch: centre a small range on the value; later batches
      // widen it as needed.
      span = std::max(std::abs(static_cast<double>(batch_min)), 1.0) * 1e-3;
      lower_ = batch_min - span / 2;
    } else {
      lower_ = batch_min;
    }
    width_ = span / num_bins();
    occupied_min_ = batch_min;
    occupied_max_ = batch_max;
  } else {
    Cover(batch_min, batch_max);
    occupied_min_ = std::min<double>(occupied_min_, batch_min);
    occupied_max_ = std::max<double>(occupied_max_, batch_max);
  }
  for (float v : values) ++counts_[static_cast<size_t>(BinIndex(v))];
  total_ += values.size();
}

TensorStats::TensorStats(StatsOptions options) : options_(options), histogram_(options.num_bins) {}

void TensorStats::Observe(std::span<const float> batch) {
  ObservePart(batch);
  EndBatch();
}

void TensorStats::ObservePart(std::span<const float> values) {
  std::vector<float> finite;
  finite.reserve(values.size());
  for (float v : values) {
    if (std::isfinite(v)) {
      finite.push_back(v);
    } else {
      ++nonfinite_;
    }
  }
  if (finite.empty()) return;
  const auto [lo_it, hi_it] = std::minmax_element(finite.begin(), finite.end());
  const float part_min = *lo_it;
  const float part_max = *hi_it;
  if (histogram_.empty()) {
    min_ = part_min;
    max_ = part_max;
  } else {
    min_ = std::min(min_, part_min);
    max_ = std::max(max_, part_max);
  }
  if (batch_open_) {
    batch_min_ = std::min(batch_min_, part_min);
    batch_max_ = std::max(batch_max_, part_max);
  } else {
    batch_min_ = part_min;
    batch_max_ = part_max;
    batch_open_ = true;
  }
  histogram_.Add(finite, part_min, part_max);
}

double TensorStats::moving_min() const {
  if (!batch_open_) return moving_min_;
  const double m = options_.moving_average_momentum;
  return batches_ == 0 ? batch_min_ : m * moving_min_ + (1.0 - m) * batch_min_;
}

double TensorStats::moving_max() const {
  if (!batch_open_) return moving_max_;
  const double m = options_.moving_average_momentum;
  return batches_ == 0 ? batch_max_ : m * moving_max_ + (1.0 - m) * batch_max_;
}

void TensorStats::EndBatch() {
  if (!batch_open_) return;
  batch_open_ = false;
  if (batches_ == 0) {
    moving_min_ = batch_min_;
    moving_max_ = batch_max_;
  } else {
    const double m = options_.moving_average_momentum;
    moving_min_ = m * moving_min_ + (1.0 - m) * batch_min_;
    moving_max_ = m * moving_max_ + (1.0 - m) * batch_max_;
  }
  ++batches_;
}

}  // namespace liteq::quant
