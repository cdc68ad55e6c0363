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
// One step of chain `acc`: t = u8 x s8 pair sums (vpmaddubsw), t = pairs of t summed
// to int32 (vpmaddwd by ones in ymm12), acc += t. 32 multiply-accumulates.
#define LITEQ_INT8_CHAIN(u, s, t, acc)            \
  "vpmaddubsw %%ymm" #s ", %%ymm" #u ", %%ymm" #t \
  "\n\t"                                          \
  "vpmaddwd %%ymm12, %%ymm" #t ", %%ymm" #t       \
  "\n\t"                                          \
  "vpaddd %%ymm" #t ", %%ymm" #acc ", %%ymm" #acc "\n\t"

// 8 independent accumulator chains (ymm0-7) of vpmaddubsw + vpmaddwd + vpaddd on 8
// different operand pairs of ymm8-11, written in assembly: with intrinsics GCC merged
// chains that multiply the same operands (it computed 4 products and counted 8, so the
// reported peak was twice the hardware's) and spilled accumulators to the stack.
__attribute__((target("avx2"))) void Int8Chains(int64_t steps) {
  asm volatile(
      "vpcmpeqb %%ymm8, %%ymm8, %%ymm8\n\t"  // -1 bytes
      "vpabsb %%ymm8, %%ymm9\n\t"            // 1
      "vpaddb %%ymm9, %%ymm9, %%ymm10\n\t"   // 2
      "vpaddb %%ymm9, %%ymm10, %%ymm11\n\t"  // 3
      "vpabsw %%ymm8, %%ymm12\n\t"           // int16 ones
      "1:\n\t"  //
      LITEQ_INT8_CHAIN(8, 9, 13, 0) LITEQ_INT8_CHAIN(9, 8, 14, 1)
          LITEQ_INT8_CHAIN(10, 11, 15, 2) LITEQ_INT8_CHAIN(11, 10, 13, 3)
              LITEQ_INT8_CHAIN(8, 10, 14, 4) LITEQ_INT8_CHAIN(10, 8, 15, 5)
                  LITEQ_INT8_CHAIN(9, 11, 13, 6) LITEQ_INT8_CHAIN(11, 9, 14, 7)
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(steps)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}
#undef LITEQ_INT8_CHAIN

// 16 independent accumulator chains (zmm0-15) of vpdpbusd (64 unsigned x signed byte
// products added to 16 int32 lanes) on zmm16/zmm17: enough chains to cover its
// latency (4-5 cycles at 2 per cycle), in assembly for the reason above.
#define LITEQ_VNNI_CHAIN(acc) "vpdpbusd %%zmm17, %%zmm16, %%zmm" #acc "\n\t"
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void VnniChains(int64_t steps) {
  asm volatile(
      "vpternlogd $0xff, %%zmm16, %%zmm16, %%zmm16\n\t"  // -1 bytes (255 as uint8)
      "vpabsb %%zmm16, %%zmm17\n\t"                      // 1
      "1:\n\t"  //
      LITEQ_VNNI_CHAIN(0) LITEQ_VNNI_CHAIN(1) LITEQ_VNNI_CHAIN(2) LITEQ_VNNI_CHAIN(3)
          LITEQ_VNNI_CHAIN(4) LITEQ_VNNI_CHAIN(5) LITEQ_VNNI_CHAIN(6) LITEQ_VNNI_CHAIN(7)
              LITEQ_VNNI_CHAIN(8) LITEQ_VNNI_CHAIN(9) LITEQ_VNNI_CHAIN(10) LITEQ_VNNI_CHAIN(11)
                  LITEQ_VNNI_CHAIN(12) LITEQ_VNNI_CHAIN(13) LITEQ_VNNI_CHAIN(14)
                      LITEQ_VNNI_CHAIN(15)
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(steps)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17");
}
#undef LITEQ_VNNI_CHAIN
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
    const double s = TimeOnThreads(threads, [&](int t) {
      sinks[static_cast<size_t>(t) * 8] += SumWords(parts[t].get(), per_thread);
    });
    best = std::max(best, per_thread * sizeof(uint64_t) * threads / s);
  }
  volatile uint64_t keep = sinks[0];
  (void)keep;
  return best;
}

ComputePeak MeasureInt8Peak(int threads, int repetitions) {
  ComputePeak peak{0, "none"};
#if defined(__x86_64__)
  threads = std::max(threads, 1);
  // The path liteq's int8 GEMM takes on this CPU (packed_int8.h, BestPackedInt8Dots).
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
    constexpr int64_t kVnniSteps = 20'000'000;  // ~0.1 s per pass at 2 vpdpbusd per cycle
    double best = 0;
    for (int r = 0; r < std::max(repetitions, 3); ++r) {
      const double s = TimeOnThreads(threads, [&](int) { VnniChains(kVnniSteps); });
      best = std::max(best, 2.0 * 64 * 16 * static_cast<double>(kVnniSteps) * threads / s);
    }
    return {best, "avx512vnni"};
  }
  if (!__builtin_cpu_supports("avx2")) return peak;
  constexpr int64_t kSteps = 40'000'000;  // ~0.1 s per pass (AMD EPYC Milan, AVX2)
  double best = 0;
  for (int r = 0; r < std::max(repetitions, 3); ++r) {
    const double s = TimeOnThreads(threads, [&](int) { Int8Chains(kSteps); });
    best = std::max(best, 2.0 * 32 * 8 * static_cast<double>(kSteps) * threads / s);
  }
  peak = {best, "avx2"};
#else
  (void)threads;
  (void)repetitions;
#endif
  return peak;
}

}  // namespace liteq::bench
