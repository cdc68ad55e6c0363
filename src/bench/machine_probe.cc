// Machine limits for the benchmark (machine_probe.h).
#include "bench/machine_probe.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace liteq::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Runs fn(t) on `threads` threads (t = 0 on the caller) and returns the wall time of
// the slowest, measured from a common start.
template <typename F>
double TimeOnThreads(int threads, F&& fn) {
  std::vector<std::thread> workers;
  const auto start = Clock::now();
  for (int t = 1; t < threads; ++t) workers.emplace_back([&fn, t] { fn(t); });
  fn(0);
  for (auto& w : workers) w.join();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Sums 64-bit words; integer adds are associative, so the compiler vectorises the loop
// at the widest ISA the clone targets (the read rate, not the adds, is the limit).
__attribute__((target_clones("avx512f", "avx2", "default"))) uint64_t SumWords(const uint64_t* data,
                                                                               size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += data[i];
  return sum;
}

#if defined(__x86_64__)
// 8 independent accumulator chains of vpmaddubsw (u8 x s8 -> s16 pairs) + vpmaddwd
// (s16 pairs -> s32) + vpaddd: 32 multiply-accumulates per chain per step.
__attribute__((target("avx2"))) int32_t Int8Chains(int64_t steps, int seed) {
  const __m256i ones16 = _mm256_set1_epi16(1);
  __m256i a = _mm256_set1_epi8(static_cast<char>(seed | 1));
  __m256i b = _mm256_set1_epi8(static_cast<char>(3));
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
          c7 = c0;
  for (int64_t i = 0; i < steps; ++i) {
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones16));
    c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(_mm256_maddubs_epi16(b, a), ones16));
    c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(_mm256_maddubs_epi16(a, a), ones16));
    c3 = _mm256_add_epi32(c3, _mm256_madd_epi16(_mm256_maddubs_epi16(b, b), ones16));
    c4 = _mm256_add_epi32(c4, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones16));
    c5 = _mm256_add_epi32(c5, _mm256_madd_epi16(_mm256_maddubs_epi16(b, a), ones16));
    c6 = _mm256_add_epi32(c6, _mm256_madd_epi16(_mm256_maddubs_epi16(a, a), ones16));
    c7 = _mm256_add_epi32(c7, _mm256_madd_epi16(_mm256_maddubs_epi16(b, b), ones16));
    // Keep the compiler from hoisting the products out of the loop.
    __asm__ volatile("" : "+x"(a), "+x"(b));
  }
  __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
                               _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
  return _mm256_extract_epi32(s, 0);
}
#endif

}  // namespace

double MeasureReadBandwidth(int threads, int repetitions) {
  threads = std::max(threads, 1);
  const size_t per_thread = (size_t{512} << 20) / sizeof(uint64_t) / static_cast<size_t>(threads);
  std::vector<std::unique_ptr<uint64_t[]>> parts(static_cast<size_t>(threads));
  TimeOnThreads(threads, [&](int t) {  // first touch by the reading thread
    parts[t].reset(new uint64_t[per_thread]);
    for (size_t i = 0; i < per_thread; ++i) parts[t][i] = i;
  });
  std::vector<uint64_t> sinks(static_cast<size_t>(threads) * 8);
  double best = 0;
  for (int r = 0; r < std::max(repetitions, 3); ++r) {
    const double s = TimeOnThreads(
        threads, [&](int t) { sinks[static_cast<size_t>(t) * 8] += SumWords(parts[t].get(), per_thread); });
    best = std::max(best, per_thread * sizeof(uint64_t) * threads / s);
  }
  volatile uint64_t keep = sinks[0];
  (void)keep;
  return best;
}

ComputePeak MeasureInt8Peak(int threads, int repetitions) {
  ComputePeak peak{0, "none"};
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx2")) return peak;
  threads = std::max(threads, 1);
  constexpr int64_t kSteps = 20'000'000;  // ~0.1 s per pass at 2 steps per cycle
  // Unsigned: the sums only keep the chains alive and may wrap.
  std::vector<uint32_t> sinks(static_cast<size_t>(threads) * 16);
  double best = 0;
  for (int r = 0; r < std::max(repetitions, 3); ++r) {
    const double s = TimeOnThreads(threads, [&](int t) {
      sinks[static_cast<size_t>(t) * 16] += static_cast<uint32_t>(Int8Chains(kSteps, t + r));
    });
    best = std::max(best, 2.0 * 32 * 8 * static_cast<double>(kSteps) * threads / s);
  }
  volatile uint32_t keep = sinks[0];
  (void)keep;
  peak = {best, "avx2"};
#else
  (void)threads;
  (void)repetitions;
#endif
  return peak;
}

}  // namespace liteq::bench
