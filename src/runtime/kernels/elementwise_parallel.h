// Splits an elementwise loop over [0, n) across the interpreter's thread pool.
#ifndef LITEQ_RUNTIME_KERNELS_ELEMENTWISE_PARALLEL_H_
#define LITEQ_RUNTIME_KERNELS_ELEMENTWISE_PARALLEL_H_

#include <algorithm>
#include <cstdint>

#include "runtime/thread_pool.h"

namespace liteq::runtime {

// Below these sizes one thread does the whole op: a hand-off to the pool costs ~1-2
// us. Measured with 2 threads (AVX2, shared machine), time per op:
//   MUL       16K: 2.5 us (1 thread) vs 2.4 us (2);  32K: 4.6 vs 3.5;  192K: 48 vs 28
//   LOGISTIC   4K: 4.7 vs 3.7;  8K: 9.3 vs 5.8;  192K: 225 vs 118
// so cheap ops (arithmetic, NEG, SQRT...) split from 32K elements and the
// transcendental ones (EXP, LOGISTIC, TANH, GELU: ~10x the work per element) from 8K.
inline constexpr int64_t kParallelMinElementsCheap = 32 * 1024;
inline constexpr int64_t kParallelMinElementsTranscendental = 8 * 1024;
// Chunk starts are multiples of this (a cache line of floats, whole vectors).
inline constexpr int64_t kParallelElementwiseAlign = 64;

// Calls fn(begin, end) over disjoint ranges covering [0, n): one call on the calling
// thread when n < min_elements or there is no pool, else one per thread. No
// allocation.
template <typename Fn>
void ParallelElementwise(ThreadPool* pool, int64_t n, int64_t min_elements, Fn&& fn) {
  const int threads = pool != nullptr ? pool->num_threads() : 1;
  if (threads <= 1 || n < min_elements) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  const int64_t per_task = (n + threads - 1) / threads;
  const int64_t chunk = (per_task + kParallelElementwiseAlign - 1) / kParallelElementwiseAlign *
                        kParallelElementwiseAlign;
  auto task = [&](int t) {
    const int64_t begin = std::min<int64_t>(n, t * chunk);
    const int64_t end = std::min<int64_t>(n, begin + chunk);
    if (begin < end) fn(begin, end);
  };
  pool->ParallelFor(threads, task);
}

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_ELEMENTWISE_PARALLEL_H_
