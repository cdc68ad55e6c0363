#include "runtime/kernels/fully_connected_int8_fast.h"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <mutex>

#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/thread_pool.h"

namespace liteq::runtime {
namespace {

using quantized::FullyConnectedShape;

// ~5 us of GEMV (64 KB of weights streamed) or ~2 us of GEMM on one core: the
// spinning pool hands a task over in well under a microsecond.
constexpr size_t kMinTaskMacs = size_t{1} << 16;

// Runs f(row_begin, row_end) over the output channels, split across the pool when
// the op is big enough to pay for the hand-off. Tasks are taken dynamically, so a
// few more tasks than threads even out a core that is busy with other work.
// Range ends are multiples of `align` (RowRangeAlignment) or rows.
template <typename F>
void ForChannelRanges(const EvalContext& ctx, const FullyConnectedShape& shape, size_t align,
                      F&& f) {
  const auto rows = static_cast<size_t>(shape.out_channels);
  const int threads = ctx.pool != nullptr ? ctx.pool->num_threads() : 1;
  // At least kMinTaskMacs multiply-adds per task, so the hand-off stays small
  // against the work.
  const size_t macs_per_row = std::max<size_t>(1, static_cast<size_t>(shape.batches * shape.depth));
  const size_t min_rows =
      std::max<size_t>(16, (kMinTaskMacs / macs_per_row + align - 1) / align * align);
  const size_t max_tasks =
      threads <= 1 ? 1
                   : std::min(static_cast<size_t>(threads) * 4, (rows + min_rows - 1) / min_rows);
  const size_t units = (rows + align - 1) / align;  // whole tiles of `align` channels
  const size_t tasks =
      BalancedTaskCount(units, static_cast<size_t>(std::max(threads, 1)), max_tasks);
  if (tasks <= 1) {
    f(int64_t{0}, static_cast<int64_t>(rows));
    return;
  }
  // Task t takes units [t * units / tasks, (t + 1) * units / tasks): sizes differ by
  // at most one unit.
  auto task = [&](int t) {
    const size_t begin = std::min(rows, static_cast<size_t>(t) * units / tasks * align);
    const size_t end = std::min(rows, (static_cast<size_t>(t) + 1) * units / tasks * align);
    if (begin < end) f(static_cast<int64_t>(begin), static_cast<int64_t>(end));
  };
  ctx.pool->ParallelFor(static_cast<int>(tasks), task);
}

bool SameParams(const quantized::FastFullyConnectedInt8Params& a,
                const quantized::FastFullyConnectedInt8Params& b) {
  return a.folded_bias == b.folded_bias && a.multiplier == b.multiplier &&
         a.total_shift == b.total_shift && a.saturate == b.saturate &&
         a.output_offset == b.output_offset && a.activation.min == b.activation.min &&
         a.activation.max == b.activation.max && a.requantize == b.requantize;
}

bool SameParams(const quantized::HybridFullyConnectedParams& a,
                const quantized::HybridFullyConnectedParams& b) {
  return a.asymmetric_inputs == b.asymmetric_inputs &&
         std::ranges::equal(a.weight_scales, b.weight_scales) &&
         a.activation_min == b.activation_min && a.activation_max == b.activation_max;
}

// The FCs of several signatures (prefill, decode, the one-row output head) on the
// same packed weights derive equal per-channel parameters (12 bytes per channel for
// int8, 4 for hybrid); they share one copy, found by content among those made for
// the same weights (SmolLM2 static_int8: -2.8 MB). Thread-safe; a copy lives as long
// as a kernel uses it.
template <typename Params>
std::shared_ptr<const Params> SharedParams(const quantized::PackedInt8Weights* weights,
                                           Params params) {
  static std::mutex mutex;
  static std::multimap<const void*, std::weak_ptr<const Params>> made;
  std::lock_guard<std::mutex> lock(mutex);
  std::erase_if(made, [](const auto& entry) { return entry.second.expired(); });
  const auto [first, last] = made.equal_range(weights);
  for (auto it = first; it != last; ++it) {
    if (auto shared = it->second.lock(); shared != nullptr && SameParams(*shared, params)) {
      return shared;
    }
  }
  auto shared = std::make_shared<const Params>(std::move(params));
  made.emplace(weights, shared);
  return shared;
}

// Bytes of the input rows prepared for the packed dots kernel (PreparedActivationBytes:
// 0 when it takes them as they are), and the alignment of the channel ranges the
// threads get (RowRangeAlignment).
size_t PreparedBytes(const quantized::PackedInt8Weights& w, quantized::PackedInt8DotsFn dots,
                     const FullyConnectedShape& shape) {
  return quantized::PreparedActivationBytes(w, dots, static_cast<size_t>(shape.batches));
}
size_t RangeAlignment(const quantized::PackedInt8Weights& w, const FullyConnectedShape& shape) {
  return quantized::RowRangeAlignment(w, static_cast<size_t>(shape.batches));
}

// Calls f(b0, b1) over the activation rows [0, batches), split across the pool when
// there are enough of them (a prefill): per-row work done before the dots.
template <typename F>
void ForActivationRows(const EvalContext& ctx, const FullyConnectedShape& shape, F&& f) {
  const int64_t batches = shape.batches;
  const int threads = ctx.pool != nullptr ? ctx.pool->num_threads() : 1;
  if (threads <= 1 || batches < 2 || batches * shape.depth < kParallelMinElementsCheap) {
    f(int64_t{0}, batches);
    return;
  }
  const int tasks = static_cast<int>(std::min<int64_t>(threads, batches));
  auto part = [&](int t) { f(batches * t / tasks, batches * (t + 1) / tasks); };
  ctx.pool->ParallelFor(tasks, part);
}

class FastFullyConnectedInt8Kernel : public Kernel {
 public:
  FastFullyConnectedInt8Kernel(std::shared_ptr<const quantized::PackedInt8Weights> weights,
                               quantized::FastFullyConnectedInt8Params params,
                               FullyConnectedShape shape)
      : weights_(std::move(weights)),
        params_(SharedParams(weights_.get(), std::move(params))),
        shape_(shape),
        dots_(quantized::PackedInt8DotsFor(weights_->layout())),
        // ScratchContents::form: batches rows of depth prepared for the dots kernel
        // (the third word tells it from the hybrid FC's forms, whose is 0 or 1).
        form_{static_cast<uint64_t>(shape_.batches), static_cast<uint64_t>(shape_.depth), 2,
              ScratchBytes()} {}

  // Scratch: the input prepared for the dots kernel (none for most kernels).
  size_t ScratchBytes() const { return PreparedBytes(*weights_, dots_, shape_); }

  Status Eval(const EvalContext& ctx) override {
    const int8_t* input = In<int8_t>(ctx, 0);
    int8_t* output = Out<int8_t>(ctx, 0);
    // Prepared once here, not by every channel range below, or taken from the FC
    // before this one when it read the same input.
    uint8_t* prepared = nullptr;
    if (ScratchBytes() != 0) {
      prepared = reinterpret_cast<uint8_t*>(ctx.scratch);
      ScratchContents* contents = ctx.scratch_contents;
      if (contents != nullptr && contents->step == ctx.step - 1 && contents->source == input &&
          contents->form == form_) {
        if (ctx.counters != nullptr) ++ctx.counters->int8_inputs_reused;
      } else {
        ForActivationRows(ctx, shape_, [&](int64_t b0, int64_t b1) {
          quantized::PrepareActivations(*weights_, input, static_cast<size_t>(b0),
                                        static_cast<size_t>(b1), prepared);
        });
      }
      if (contents != nullptr) *contents = {ctx.step, input, form_};
    }
    ForChannelRanges(ctx, shape_, RangeAlignment(*weights_, shape_),
                     [&](int64_t begin, int64_t end) {
                       quantized::FastFullyConnectedInt8Rows(*params_, shape_, input, *weights_,
                                                             output, begin, end, dots_, prepared);
                     });
    return Status::Ok();
  }

 private:
  std::shared_ptr<const quantized::PackedInt8Weights> weights_;
  std::shared_ptr<const quantized::FastFullyConnectedInt8Params> params_;
  FullyConnectedShape shape_;
  quantized::PackedInt8DotsFn dots_;
  std::array<uint64_t, 4> form_;
};

class FastHybridFullyConnectedKernel : public Kernel {
 public:
  FastHybridFullyConnectedKernel(std::shared_ptr<const quantized::PackedInt8Weights> weights,
                                 quantized::HybridFullyConnectedParams params,
                                 FullyConnectedShape shape, bool has_bias)
      : weights_(std::move(weights)),
        row_sums_(weights_->SharedRowSums()),
        params_(SharedParams(weights_.get(), std::move(params))),
        shape_(shape),
        has_bias_(has_bias),
        dots_(quantized::PackedInt8DotsFor(weights_->layout())),
        form_(ScratchForm()) {}

  // Scratch: the rows' quantization parameters, the quantized rows, then those rows
  // prepared for the dots kernel (none for most kernels).
  size_t ScratchBytes() const {
    return static_cast<size_t>(shape_.batches) * (sizeof(quant::QuantParams) + shape_.depth) +
           PreparedBytes(*weights_, dots_, shape_);
  }

  Status Eval(const EvalContext& ctx) override {
    auto* row_params = reinterpret_cast<quant::QuantParams*>(ctx.scratch);
    int8_t* quantized = reinterpret_cast<int8_t*>(ctx.scratch) +
                        static_cast<size_t>(shape_.batches) * sizeof(quant::QuantParams);
    uint8_t* prepared = PreparedBytes(*weights_, dots_, shape_) == 0
                            ? nullptr
                            : reinterpret_cast<uint8_t*>(quantized) +
                                  static_cast<size_t>(shape_.batches * shape_.depth);
    const float* input = In<float>(ctx, 0);
    ScratchContents* contents = ctx.scratch_contents;
    if (contents != nullptr && contents->step == ctx.step - 1 && contents->source == input &&
        contents->form == form_) {
      if (ctx.counters != nullptr) ++ctx.counters->hybrid_inputs_reused;
    } else {
      QuantizeRows(ctx, input, quantized, row_params, prepared);
    }
    if (contents != nullptr) *contents = {ctx.step, input, form_};
    const float* bias = has_bias_ ? In<float>(ctx, 2) : nullptr;
    float* output = Out<float>(ctx, 0);
    ForChannelRanges(
        ctx, shape_, RangeAlignment(*weights_, shape_), [&](int64_t begin, int64_t end) {
          quantized::FastHybridFullyConnectedRows(*params_, shape_, *row_sums_, quantized,
                                                  row_params, *weights_, bias, output, begin, end,
                                                  dots_, prepared);
        });
    return Status::Ok();
  }

 private:
  // What this kernel leaves in the scratch, as ScratchContents::form: `batches` rows of
  // `depth` quantized per row (asymmetric or not), prepared or not for the dots kernel.
  // Two FCs with equal forms lay out the same bytes for the same input.
  std::array<uint64_t, 4> ScratchForm() const {
    return {static_cast<uint64_t>(shape_.batches), static_cast<uint64_t>(shape_.depth),
            params_->asymmetric_inputs ? 1u : 0u, PreparedBytes(*weights_, dots_, shape_)};
  }
  // The activation rows quantized per row (QuantizeHybridRows) and prepared for the
  // dots kernel, split over the pool for a prefill: done on one thread it was the
  // serial part of every hybrid FC.
  void QuantizeRows(const EvalContext& ctx, const float* input, int8_t* quantized,
                    quant::QuantParams* row_params, uint8_t* prepared) const {
    const int64_t depth = shape_.depth;
    ForActivationRows(ctx, shape_, [&](int64_t b0, int64_t b1) {
      const FullyConnectedShape part{b1 - b0, depth, shape_.out_channels};
      quantized::QuantizeHybridRows(*params_, part, input + b0 * depth, quantized + b0 * depth,
                                    row_params + b0);
      if (prepared != nullptr) {
        quantized::PrepareActivations(*weights_, quantized, static_cast<size_t>(b0),
                                      static_cast<size_t>(b1), prepared);
      }
    });
  }

  std::shared_ptr<const quantized::PackedInt8Weights> weights_;
  std::shared_ptr<const std::vector<int32_t>> row_sums_;  // read at every Eval
  std::shared_ptr<const quantized::HybridFullyConnectedParams> params_;
  FullyConnectedShape shape_;
  bool has_bias_;
  quantized::PackedInt8DotsFn dots_;
  std::array<uint64_t, 4> form_;
};

// The packed copy of the constant weights, shared with the same FC of the other
// signatures; the model file's pages of the weights are handed back once packed.
std::shared_ptr<const quantized::PackedInt8Weights> PackedWeights(const FullyConnectedShape& shape,
                                                                  std::span<const int8_t> weights) {
  return quantized::SharedPackedInt8Weights(weights, static_cast<size_t>(shape.out_channels),
                                            static_cast<size_t>(shape.depth),
                                            /*release_source=*/true);
}

}  // namespace

std::unique_ptr<Kernel> MakeFastFullyConnectedInt8(PrepareContext& ctx,
                                                   const quantized::FullyConnectedIntParams& params,
                                                   const FullyConnectedShape& shape,
                                                   std::span<const int8_t> weights,
                                                   std::span<const int32_t> bias) {
  auto packed = PackedWeights(shape, weights);
  auto fast = quantized::PrepareFastFullyConnectedInt8(params, shape, *packed, bias);
  auto kernel =
      std::make_unique<FastFullyConnectedInt8Kernel>(std::move(packed), std::move(fast), shape);
  ctx.RequestScratch(kernel->ScratchBytes());
  return kernel;
}

std::unique_ptr<Kernel> MakeFastHybridFullyConnected(PrepareContext& ctx,
                                                     quantized::HybridFullyConnectedParams params,
                                                     const FullyConnectedShape& shape,
                                                     std::span<const int8_t> weights,
                                                     bool has_bias) {
  auto kernel = std::make_unique<FastHybridFullyConnectedKernel>(
      PackedWeights(shape, weights), std::move(params), shape, has_bias);
  ctx.RequestScratch(kernel->ScratchBytes());
  return kernel;
}

}  // namespace liteq::runtime
