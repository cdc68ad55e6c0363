// What this machine can do, measured in the same run as a benchmark (issue #6: the
// bars are percentages of the measured limits, not of datasheet numbers).
//   - Memory read bandwidth: `threads` threads each sum their own part of a buffer far
//     larger than the caches (first-touched by that thread); the best of the passes.
//   - int8 multiply-accumulate peak: every thread runs independent chains of the
//     widest int8 multiply-accumulate sequence of the ISA liteq's int8 GEMM uses on
//     this CPU (AVX-512 VNNI: vpdpbusd, 64 products per step; else AVX2: vpmaddubsw +
//     vpmaddwd + vpaddd, 32 products per step) on registers only, in assembly so that
//     the compiler can neither merge nor spill the chains. (liteq's exact AVX2 int8 x
//     int8 products need a vpsignb more per step: measured ~83% of that rate on AMD
//     Zen 3 registers.)
//     Reported as ops per second (1 multiply-accumulate = 2 ops, the usual convention).
#ifndef LITEQ_BENCH_MACHINE_PROBE_H_
#define LITEQ_BENCH_MACHINE_PROBE_H_

#include <string>

namespace liteq::bench {

// Bytes per second.
double MeasureReadBandwidth(int threads, int repetitions);

struct ComputePeak {
  double ops_per_second = 0;  // 0 when no SIMD path exists on this CPU
  std::string isa;            // "avx512vnni", "avx2" or "none"
};
ComputePeak MeasureInt8Peak(int threads, int repetitions);

}  // namespace liteq::bench

#endif  // LITEQ_BENCH_MACHINE_PROBE_H_
