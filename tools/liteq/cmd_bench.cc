// `liteq bench MODEL.tflite`: load time, prefill and decode speed, and decode cost
// measured against this machine's memory read bandwidth (decode of an LLM streams
// every weight once per token, so bytes/bandwidth is its lower bound).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <numeric>
#include <vector>

#include "commands.h"
#include "generate/session.h"
#include "runtime/interpreter.h"

namespace liteq::cli {
namespace {

struct BenchArgs {
  std::string model;
  int threads = 1;
  int repetitions = 5;
  int decode_steps = 32;
  bool json = false;
};

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Sums 64-bit words; integer adds are associative, so the compiler vectorises the loop
// at the widest ISA the clone targets (the read rate, not the adds, is the limit).
__attribute__((target_clones("avx512f", "avx2", "default"))) uint64_t SumWords(
    const uint64_t* data, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += data[i];
  return sum;
}

// Single-thread DRAM read bandwidth: sum a buffer much larger than the caches.
double MeasureReadBandwidth(int repetitions) {
  const size_t n = size_t{256} << 20 >> 3;  // 256 MiB of uint64
  std::vector<uint64_t> buf(n);
  for (size_t i = 0; i < n; ++i) buf[i] = i;
  std::vector<double> rates;
  volatile uint64_t sink = 0;
  for (int r = 0; r < std::max(repetitions, 3); ++r) {
    const auto t = Clock::now();
    sink = sink + SumWords(buf.data(), n);
    rates.push_back(n * sizeof(uint64_t) / Since(t));
  }
  return *std::max_element(rates.begin(), rates.end());  // the best pass is the bound
}

size_t ConstantBytes(const graph::Model& model) {
  size_t total = 0;
  for (const auto& b : model.buffers) total += b.size;
  return total;
}

Status RunBench(const BenchArgs& args) {
  auto t = Clock::now();
  LITEQ_ASSIGN_OR_RETURN(auto interpreter,
                         runtime::Interpreter::Load(args.model, {.num_threads = args.threads}));
  LITEQ_ASSIGN_OR_RETURN(auto session, generate::Session::Create(interpreter.get()));
  const double load_seconds = Since(t);
  const auto& shape = session->shape();
  if (shape.prefill.empty() || !shape.has_decode) {
    return InvalidArgumentError(args.model + ": bench needs a prefill and a decode signature");
  }
  const int prefill_len = shape.prefill.back().length;
  if (prefill_len + args.decode_steps > shape.max_seq) {
    return InvalidArgumentError("prefill " + std::to_string(prefill_len) + " + " +
                                std::to_string(args.decode_steps) + " decode steps exceed max_seq");
  }
  std::vector<int32_t> prompt(prefill_len);
  for (int i = 0; i < prefill_len; ++i) prompt[i] = 1 + (i * 7919) % (shape.vocab_size - 1);

  std::vector<double> prefill_s, decode_s, first_token_s;
  for (int r = 0; r < args.repetitions; ++r) {
    session->Reset();
    t = Clock::now();
    LITEQ_RETURN_IF_ERROR(session->Feed(prompt));
    prefill_s.push_back(Since(t));
    for (int i = 0; i < args.decode_steps; ++i) {
      const int32_t one[1] = {prompt[i % prefill_len]};
      t = Clock::now();
      LITEQ_RETURN_IF_ERROR(session->Feed(one));
      decode_s.push_back(Since(t));
    }
    session->Reset();
    t = Clock::now();
    const int32_t bos[1] = {prompt[0]};
    LITEQ_RETURN_IF_ERROR(session->Feed(bos));
    first_token_s.push_back(Since(t));
  }
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);  // before the bandwidth probe's own buffer
  const double peak_rss_mb = usage.ru_maxrss / 1024.0;
  const double bandwidth = MeasureReadBandwidth(args.repetitions);
  const size_t weight_bytes = ConstantBytes(interpreter->model());
  const double decode_step = Median(decode_s);
  const double read_once = weight_bytes / bandwidth;

  if (args.json) {
    nlohmann::json j = {{"model", args.model},
                        {"threads", args.threads},
                        {"load_seconds", load_seconds},
                        {"ttft_one_token_seconds", Median(first_token_s)},
                        {"prefill_length", prefill_len},
                        {"prefill_tokens_per_second", prefill_len / Median(prefill_s)},
                        {"decode_step_seconds", decode_step},
                        {"decode_tokens_per_second", 1.0 / decode_step},
                        {"weight_bytes", weight_bytes},
                        {"read_bandwidth_bytes_per_second", bandwidth},
                        {"decode_step_over_weight_read", decode_step / read_once},
                        {"peak_rss_mb", peak_rss_mb}};
    std::printf("%s\n", j.dump(2).c_str());
    return Status::Ok();
  }
  std::printf("model                 %s (%d thread%s, %d repetitions, medians)\n", args.model.c_str(),
              args.threads, args.threads == 1 ? "" : "s", args.repetitions);
  std::printf("load                  %.1f ms\n", 1e3 * load_seconds);
  std::printf("first token (1 tok)   %.2f ms\n", 1e3 * Median(first_token_s));
  std::printf("prefill pp%-4d        %.0f tok/s\n", prefill_len, prefill_len / Median(prefill_s));
  std::printf("decode                %.3f ms/token, %.0f tok/s\n", 1e3 * decode_step, 1.0 / decode_step);
  std::printf("weights               %.1f MB; read once at %.1f GB/s (1 thread) = %.3f ms\n",
              weight_bytes / 1e6, bandwidth / 1e9, 1e3 * read_once);
  std::printf("decode / weight read  %.2fx\n", decode_step / read_once);
  std::printf("peak RSS              %.1f MB\n", peak_rss_mb);
  return Status::Ok();
}

void SetupBench(CLI::App& app, Status* result) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Measure load, prefill and decode speed of a model");
  cmd->add_option("model", args->model, "The .tflite model")->required();
  cmd->add_option("--threads", args->threads, "Worker threads")->check(CLI::PositiveNumber);
  cmd->add_option("--repetitions", args->repetitions, "Repetitions (medians are reported)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--decode-steps", args->decode_steps, "Decode steps per repetition")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunBench(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("bench", SetupBench);
}  // namespace liteq::cli
