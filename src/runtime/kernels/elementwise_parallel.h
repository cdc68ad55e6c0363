// Splits an elementwise loop over [0, n) across the interpreter's thread pool.
#ifndef LITEQ_RUNTIME_KERNELS_ELEMENTWISE_PARALLEL_H_
#define LITEQ_RUNTIME_KERNELS_ELEMENTWISE_PARALLEL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "runtime/thread_pool.h"

namespace liteq::runtime {

// Below these sizes one thread does the whole op: a hand-off to the pool costs ~1-2
// us. Measured with 2 threads (AVX2, shared machine), time per op:
//   MUL       16K: 2.5 us (1 thread) vs 2.4 us (2);  32K: 4.6 vs 3.5;  192K: 48 vs 28
//   LOGISTIC   4K: 4.7 vs 3.7;  8K: 9.3 vs 5.8;  192K: 225 vs 118
// so cheap ops (arithmetic, NEG, SQRT...) split from 32K elements and the
// transcendental ones (EXP, LOGISTIC, TANH, GELU: ~10x the work per element) from 8K.
// With the ranges handed out as threads come free (below) and TFLite's int8 rounding
// in the elementwise ops, 16K pays: SmolLM2-135M's k RoPE (int8 MUL, MUL, ADD over
// 24.6K elements) and cache DEQUANTIZE went from 12.0/10.3/17.3/8.4 us to
// 7.9/7.8/10.9/5.6 us per op at 2 threads (AVX-512 machine, medians of 30 prefills).
inline constexpr int64_t kParallelMinElementsCheap = 16 * 1024;
inline constexpr int64_t kParallelMinElementsTranscendental = 8 * 1024;
// Chunk starts are multiples of this (a cache line of floats, whole vectors).
inline constexpr int64_t kParallelElementwiseAlign = 64;

// Ranges per thread when an op is split: the pool hands them out as threads come free,
// so a thread that starts late or runs slower (the two vCPUs here ran the same kernel
// at 540 and 660 GOPS at once) takes fewer of them. With one range per thread the
// caller waited on the other thread for ~6% of its time in SmolLM2-135M's prefill
// (int8 MUL/ADD scaled 1.6x on 2 threads against 1.8x for the FCs, whose channel
// ranges were already taken this way).
inline constexpr int kParallelRangesPerThread = 4;

// Calls fn(begin, end) over disjoint ranges covering [0, n): one call on the calling
// thread when n < min_elements or there is no pool, else up to kParallelRangesPerThread
// per thread, each at least min_elements / kParallelRangesPerThread long. No
// allocation.
template <typename Fn>
void ParallelElementwise(ThreadPool* pool, int64_t n, int64_t min_elements, Fn&& fn) {
  const int threads = pool != nullptr ? pool->num_threads() : 1;
  if (threads <= 1 || n < min_elements) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  const int64_t ranges = int64_t{threads} * kParallelRangesPerThread;
  const int64_t per_range = std::max((n + ranges - 1) / ranges,
                                     std::max<int64_t>(1, min_elements / kParallelRangesPerThread));
  const int64_t chunk = (per_range + kParallelElementwiseAlign - 1) / kParallelElementwiseAlign *
                        kParallelElementwiseAlign;
  auto task = [&](int t) {
    const int64_t begin = std::min<int64_t>(n, t * chunk);
    const int64_t end = std::min<int64_t>(n, begin + chunk);
    if (begin < end) fn(begin, end);
  };
  pool->ParallelFor(static_cast<int>((n + chunk - 1) / chunk), task);
}

// How many tasks to cut `units` equal pieces of work into (each task a run of whole
// units, sizes differing by at most one) for `threads` threads, at most `max_tasks`:
// the count, a multiple of the threads (or 1), whose busiest thread has the fewest
// units when the tasks go round, ceil(tasks / threads) of ceil(units / tasks) units;
// on a tie the most tasks, which the pool hands out as threads come free. SmolLM2's
// 576 channels are 18 tiles of 32: 8 tasks of 3 or 2 tiles leave one thread 10 tiles
// (11% over half), 6 tasks of 3 give each thread 9.
inline size_t BalancedTaskCount(size_t units, size_t threads, size_t max_tasks) {
  if (threads <= 1 || units <= 1 || max_tasks <= 1) return 1;
  size_t best = 1, best_load = units;
  for (size_t tasks = threads; tasks <= std::min(max_tasks, units); tasks += threads) {
    const size_t load = (tasks + threads - 1) / threads * ((units + tasks - 1) / tasks);
    if (load <= best_load) best = tasks, best_load = load;
  }
  return best;
}

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_ELEMENTWISE_PARALLEL_H_
