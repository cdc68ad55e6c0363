// The packed int8 dot products (packed_int8.h) of the FULLY_CONNECTED layers of
// SmolLM2-135M and TinyLlama-1.1B at prefill (128 activation rows) and decode (1 row),
// on one thread, through the same blocked driver the kernels use
// (BlockedPackedInt8Dots): the AVX-512 VNNI kernel ("avx512vnni", where the CPU has
// it; Intel Xeon, 2026-11-28: 390-623 GOPS at 128 rows against 102-112 for "avx2" on
// the same machine, peak ~745), the runtime's PackedInt8DotsAvx2 ("avx2") against the
// portable Highway kernel PackedInt8DotsHwy ("hwy", the path of CPUs without AVX2,
// here on the best Highway target of this CPU) and the scalar reference as the
// baseline of the same run (interleave them on a shared, noisy machine); each first
// checks that its dots equal the AVX2 kernel's, bit for bit. Measured on AMD EPYC Milan
// (shared machine): at 128 rows avx2 102-128 GOPS, hwy on its AVX2 target 70-93% of
// that (int16 widening: twice the multiplies of vpmaddubsw); at 1 row (bandwidth-bound)
// both 28-111. Forced to one target (hwy::SetSupportedTargetsForTest): SSE4 35-52,
// SSSE3 30-44, SCALAR 4-6, slower than the compiler-vectorized portable loops (9-14),
// hence BestPackedInt8Dots never picks SCALAR/EMU128.
// cold:1 runs cycle through 64 MB of copies of the weights, so each matrix streams from
// L3/DRAM as in a model (the warm runs read it from L2). Intel Xeon, 2026-11-29, VNNI,
// 128 rows, two alternating runs: warm 660-690 GOPS; cold SmolLM2 matrices 398-549 and
// TinyLlama's 534-584 without prefetching, SmolLM2's 414-593 when the first tile of rows asked for
// all of the next weight block, 623-691 with each of the 8 tiles asking for its share
// (PREFETCHT1, one request per 8 quads).
// Counters: GOPS = 2 * rows * depth * batches / s.
// Measured alternatives that lost to the AVX2 kernel on AMD EPYC Milan (AVX2, no VNNI;
// 128 rows, GOPS current vs alternative): int16 vpmaddwd with 4x3 tiles 93-121 vs
// 112-126 (vpmovsxbw ymm issues at ~0.5/cycle), maddubs with 4x3 tiles 97-114 (too few
// registers: spills), nibble split without vpsignb 52-66 (twice the vpmaddubsw).
//   kernels_bench --benchmark_filter=batches:128 --benchmark_repetitions=5
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
// (one command line).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "runtime/kernels/quantized/int8_dot.h"
#include "runtime/kernels/quantized/packed_int8.h"

namespace liteq::runtime::quantized {
namespace {

struct Shape {
  size_t depth, rows;
};
// {depth (in), rows (out)}: SmolLM2 q/o-like and MLP, LM head; TinyLlama MLP.
// Weights cycled through by the "cold" runs: far more than L2 (2 MB on the Xeon).
constexpr size_t kColdBytes = size_t{64} << 20;
constexpr Shape kShapes[] = {{576, 1536}, {1536, 576}, {576, 49152}, {2048, 5632}, {5632, 2048}};

std::vector<int8_t> RandomInt8(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-127, 127);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(dist(rng));
  return v;
}

void BM_PackedDots(benchmark::State& state, PackedInt8DotsFn fn) {
  if (!Int8DotsAvx2Supported()) {
    state.SkipWithError("no AVX2");
    return;
  }
  const Shape shape = kShapes[state.range(0)];
  const auto batches = static_cast<size_t>(state.range(1));
  const auto w = RandomInt8(shape.rows * shape.depth, 1);
  const auto x = RandomInt8(batches * shape.depth, 2);
  const auto packed =
      PackedInt8Weights::Pack(w, shape.rows, shape.depth, false, PackedInt8LayoutFor(fn));
  {
    // Any exact method gives the same int32 sums: compare one block range and a few
    // rows against the AVX2 kernel before timing.
    const auto rows4x32 =
        PackedInt8Weights::Pack(w, shape.rows, shape.depth, false, PackedInt8Layout::kRows4x32);
    const size_t nb = std::min<size_t>(batches, 7),
                 blocks = std::min<size_t>(packed->row_blocks(), 9);
    const size_t ld = blocks * kPackedRows;
    std::vector<int32_t> got(nb * ld), want(nb * ld);
    fn(*packed, x.data(), shape.depth, nb, 0, blocks, got.data(), ld);
    PackedInt8DotsAvx2(*rows4x32, x.data(), shape.depth, nb, 0, blocks, want.data(), ld);
    if (got != want) {
      state.SkipWithError("dots differ from PackedInt8DotsAvx2");
      return;
    }
  }
  // cold: the run cycles through copies of the weights adding up to kColdBytes, so
  // each call streams its matrix from L3/DRAM as a model's layers do, not from L2.
  std::vector<std::unique_ptr<PackedInt8Weights>> extra;
  std::vector<const PackedInt8Weights*> copies = {packed.get()};
  if (state.range(2) != 0) {
    const size_t count = std::max<size_t>(2, kColdBytes / (shape.rows * shape.depth));
    while (copies.size() < count) {
      extra.push_back(
          PackedInt8Weights::Pack(w, shape.rows, shape.depth, false, PackedInt8LayoutFor(fn)));
      copies.push_back(extra.back().get());
    }
  }
  size_t next = 0;
  int64_t sink = 0;
  for (auto _ : state) {
    const PackedInt8Weights& weights = *copies[next++ % copies.size()];
    BlockedPackedInt8Dots(weights, x.data(), batches, 0, shape.rows, fn,
                          [&](size_t, size_t, size_t count, const int32_t* dots) {
                            sink += dots[0] + dots[count - 1];
                          });
  }
  benchmark::DoNotOptimize(sink);
  const double ops = 2.0 * static_cast<double>(shape.rows * shape.depth * batches);
  state.counters["GOPS"] =
      benchmark::Counter(ops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(shape.depth) + "->" + std::to_string(shape.rows));
}

void ShapeArgs(benchmark::internal::Benchmark* b) {
  for (int64_t s = 0; s < static_cast<int64_t>(std::size(kShapes)); ++s) {
    for (int64_t batches : {1, 2, 3, 4, 128}) b->Args({s, batches, 0});
    b->Args({s, 128, 1});
  }
  b->ArgNames({"shape", "batches", "cold"})->Unit(benchmark::kMicrosecond)->MinTime(0.2);
}

// The VNNI kernel where the CPU has it (registered always; skipped otherwise).
void BM_PackedDotsVnni(benchmark::State& state) {
  if (!Int8DotsAvx512VnniSupported()) {
    state.SkipWithError("no AVX-512 VNNI on this CPU");
    return;
  }
  BM_PackedDots(state, &PackedInt8DotsAvx512Vnni);
}

BENCHMARK(BM_PackedDotsVnni)->Name("BM_PackedDots/avx512vnni")->Apply(ShapeArgs);
BENCHMARK_CAPTURE(BM_PackedDots, avx2, &PackedInt8DotsAvx2)->Apply(ShapeArgs);
BENCHMARK_CAPTURE(BM_PackedDots, hwy, &PackedInt8DotsHwy)->Apply(ShapeArgs);
BENCHMARK_CAPTURE(BM_PackedDots, portable, &PackedInt8DotsPortable)->Apply(ShapeArgs);

}  // namespace
}  // namespace liteq::runtime::quantized

BENCHMARK_MAIN();
