// `liteq bench MODEL.tflite`: load time, time to first token, prefill speed (ppN,
// chunked through the prefill signatures), decode speed (tgN at several context
// depths), peak RSS, and both against this machine's limits measured in the same run
// with the same threads (bench/machine_probe.h): decode streams every weight and the
// live KV cache once per token, so bytes / read bandwidth bounds its speed; prefill's
// weight multiply-accumulates against the int8 peak (bench/model_traffic.h). Issue #6.
//
// Every measurement is repeated --reps times on a reset session; medians, minima and
// maxima are reported. Speeds are tokens per second of the timed calls only.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench/machine_probe.h"
#include "bench/model_traffic.h"
#include "cli_util.h"
#include "commands.h"
#include "generate/session.h"
#include "runtime/interpreter.h"

namespace liteq::cli {
namespace {

struct BenchArgs {
  std::string model;
  int threads = PhysicalCores();
  std::string int8_arithmetic = "reference";
  int repetitions = 3;
  std::vector<int> prefill_lengths = {128, 512};
  int decode_steps = 128;
  std::vector<int> depths = {0, 1024};
  bool bandwidth = true;
  bool fuse_attention = true;
  bool int4_int8_activations = true;
  bool json = false;
};

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Stats {
  double median = 0, min = 0, max = 0;
  int n = 0;
};
Stats Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  const double median = v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  return {median, v.front(), v.back(), static_cast<int>(v.size())};
}
nlohmann::json ToJson(const Stats& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}, {"n", s.n}};
}

size_t ConstantBytes(const graph::Model& model) {
  size_t total = 0;
  for (const auto& b : model.buffers) total += b.size;
  return total;
}

// Resident sizes in decimal MB (1e6 bytes), the unit of every file size liteq prints, so
// the peak compares directly with issue #6's bar (file size + KV cache) x 1.1.
double PeakRssMb() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss * 1024.0 / 1e6;  // Linux reports KiB
}

double CurrentRssMb() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0;
  return pages_resident * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1e6;
}

// Deterministic token ids spread over the vocabulary (same rule as bench/llamacpp).
std::vector<int32_t> PromptIds(int n, int vocab) {
  std::vector<int32_t> ids(n);
  const int lo = vocab > 600 ? 300 : 1;
  for (int i = 0; i < n; ++i)
    ids[i] = lo + static_cast<int32_t>((int64_t{i} * 7919) % (vocab - lo));
  return ids;
}

struct BenchResult {
  double load_seconds = 0;
  Stats ttft;                       // prompt of the first prefill length -> logits
  std::map<int, Stats> prefill;     // length -> tok/s
  std::map<int, Stats> decode;      // depth -> tok/s
  std::vector<int> skipped_depths;  // depth + steps > max_seq
  double rss_after_load_mb = 0, peak_rss_mb = 0;
};

Status Measure(const BenchArgs& args, generate::Session& session, BenchResult* r) {
  const auto& shape = session.shape();
  if (shape.prefill.empty() || !shape.has_decode) {
    return InvalidArgumentError(args.model + ": bench needs a prefill and a decode signature");
  }
  // Warm-up: one prefill chunk and one decode step (first-run allocations, page faults).
  if (shape.prefill.front().length < shape.max_seq) {
    session.Reset();
    const auto warm = PromptIds(shape.prefill.front().length + 1, shape.vocab_size);
    LITEQ_RETURN_IF_ERROR(session.Feed(std::span(warm).first(warm.size() - 1)));
    LITEQ_RETURN_IF_ERROR(session.Feed(std::span(warm).last(1)));
  }
  for (int n : args.prefill_lengths) {
    if (n > shape.max_seq) {
      return InvalidArgumentError("pp" + std::to_string(n) + " exceeds max_seq " +
                                  std::to_string(shape.max_seq) +
                                  " (export with a larger --max-seq)");
    }
    const auto prompt = PromptIds(n, shape.vocab_size);
    std::vector<double> rates, ttft;
    for (int rep = 0; rep < args.repetitions; ++rep) {
      session.Reset();
      const auto t = Clock::now();
      LITEQ_RETURN_IF_ERROR(session.Feed(prompt));
      // The first token is available once the last position's logits are: take its argmax.
      const auto logits = session.last_logits();
      volatile auto first = std::max_element(logits.begin(), logits.end()) - logits.begin();
      (void)first;
      const double s = Since(t);
      rates.push_back(n / s);
      ttft.push_back(s);
    }
    r->prefill[n] = Summarize(rates);
    if (n == args.prefill_lengths.front()) r->ttft = Summarize(ttft);
  }
  for (int depth : args.depths) {
    if (depth + args.decode_steps + 1 > shape.max_seq) {
      r->skipped_depths.push_back(depth);
      continue;
    }
    const auto context = PromptIds(depth + args.decode_steps, shape.vocab_size);
    std::vector<double> rates;
    for (int rep = 0; rep < args.repetitions; ++rep) {
      session.Reset();
      if (depth > 0) LITEQ_RETURN_IF_ERROR(session.Feed(std::span(context).first(depth)));
      double seconds = 0;
      for (int i = 0; i < args.decode_steps; ++i) {
        const int32_t one[1] = {context[depth + i]};
        const auto t = Clock::now();
        LITEQ_RETURN_IF_ERROR(session.Feed(one));
        seconds += Since(t);
      }
      rates.push_back(args.decode_steps / seconds);
    }
    r->decode[depth] = Summarize(rates);
  }
  r->peak_rss_mb = PeakRssMb();  // before the bandwidth probe's own buffer
  return Status::Ok();
}

Status RunBench(const BenchArgs& args) {
  const auto t = Clock::now();
  LITEQ_ASSIGN_OR_RETURN(
      auto interpreter,
      runtime::Interpreter::Load(
          args.model, {.num_threads = args.threads,
                       .fuse_attention = args.fuse_attention,
                       .int4_int8_activations = args.int4_int8_activations,
                       .int8_arithmetic = args.int8_arithmetic == "xnnpack"
                                              ? runtime::Int8Arithmetic::kXnnpack
                                              : runtime::Int8Arithmetic::kTfliteReference}));
  LITEQ_ASSIGN_OR_RETURN(auto session, generate::Session::Create(interpreter.get()));
  BenchResult r;
  r.load_seconds = Since(t);
  r.rss_after_load_mb = CurrentRssMb();
  LITEQ_RETURN_IF_ERROR(Measure(args, *session, &r));
  const auto& shape = session->shape();
  const size_t weight_bytes = ConstantBytes(interpreter->model());
  const bench::ModelTraffic traffic = bench::AnalyzeTraffic(interpreter->model());
  // Issue #6's memory bar: peak RSS <= (file size + KV cache) x 1.1, the cache being every
  // position of the decode signature's kv_cache_* inputs.
  std::error_code size_error;
  const auto file_bytes = std::filesystem::file_size(args.model, size_error);
  const double file_mb = size_error ? 0.0 : static_cast<double>(file_bytes) / 1e6;
  const double kv_cache_mb =
      static_cast<double>(traffic.kv_bytes_per_position) * shape.max_seq / 1e6;
  const double rss_bar_mb = (file_mb + kv_cache_mb) * 1.1;
  const double rss_bar_fraction = rss_bar_mb > 0 ? r.peak_rss_mb / rss_bar_mb : 0.0;
  const double bandwidth =
      args.bandwidth ? bench::MeasureReadBandwidth(args.threads, args.repetitions) : 0;
  const bench::ComputePeak peak = args.bandwidth
                                      ? bench::MeasureInt8Peak(args.threads, args.repetitions)
                                      : bench::ComputePeak{};
  // Bytes one decode step of tgN at `depth` reads on average: the weights and the live
  // cache rows (depth + the steps' mean offset).
  auto decode_bytes = [&](int depth) {
    return static_cast<double>(traffic.weight_bytes_per_token) +
           static_cast<double>(traffic.kv_bytes_per_position) * (depth + args.decode_steps / 2.0);
  };
  auto bandwidth_fraction = [&](int depth, double tokens_per_second) {
    return bandwidth > 0 ? tokens_per_second * decode_bytes(depth) / bandwidth : 0.0;
  };
  // A prefill of n tokens at tokens_per_second: the multiply-accumulates its first
  // token needs (the output head for the last position only, model_traffic.h) per second.
  auto peak_fraction = [&](int n, double tokens_per_second) {
    return peak.ops_per_second > 0
               ? 2.0 * bench::PrefillMacs(traffic, n) / n * tokens_per_second / peak.ops_per_second
               : 0.0;
  };

  if (args.json) {
    nlohmann::json prefill = nlohmann::json::object(), decode = nlohmann::json::object();
    for (const auto& [n, s] : r.prefill) {
      prefill["pp" + std::to_string(n)] = {{"tokens_per_second", ToJson(s)},
                                           {"weight_macs", bench::PrefillMacs(traffic, n)},
                                           {"int8_peak_fraction", peak_fraction(n, s.median)}};
    }
    for (const auto& [d, s] : r.decode) {
      decode["tg" + std::to_string(args.decode_steps) + "@" + std::to_string(d)] = {
          {"tokens_per_second", ToJson(s)},
          {"bytes_per_token", decode_bytes(d)},
          {"bandwidth_bound_fraction", bandwidth_fraction(d, s.median)}};
    }
    nlohmann::json j = {{"runtime", "liteq"},
                        {"model", args.model},
                        {"threads", args.threads},
                        {"reps", args.repetitions},
                        {"max_seq", shape.max_seq},
                        {"prefill_signatures", nlohmann::json::array()},
                        {"load_seconds", r.load_seconds},
                        {"ttft_seconds", ToJson(r.ttft)},
                        {"ttft_prompt_tokens", args.prefill_lengths.front()},
                        {"pp", prefill},
                        {"tg", decode},
                        {"skipped_depths", r.skipped_depths},
                        {"weight_bytes", weight_bytes},
                        {"weight_bytes_per_token", traffic.weight_bytes_per_token},
                        {"kv_bytes_per_position", traffic.kv_bytes_per_position},
                        {"weight_macs_per_token", traffic.weight_macs_per_token},
                        {"output_head_macs", traffic.output_head_macs},
                        {"read_bandwidth_bytes_per_second", bandwidth},
                        {"int8_peak_ops_per_second", peak.ops_per_second},
                        {"int8_peak_isa", peak.isa},
                        {"rss_after_load_mb", r.rss_after_load_mb},
                        {"peak_rss_mb", r.peak_rss_mb},
                        {"file_mb", file_mb},
                        {"kv_cache_mb", kv_cache_mb},
                        {"rss_bar_mb", rss_bar_mb},
                        {"peak_rss_bar_fraction", rss_bar_fraction}};
    for (const auto& p : shape.prefill) j["prefill_signatures"].push_back(p.length);
    std::printf("%s\n", j.dump(2).c_str());
    return Status::Ok();
  }
  std::printf("model                %s (%d thread%s, %d repetitions: median [min, max])\n",
              args.model.c_str(), args.threads, args.threads == 1 ? "" : "s", args.repetitions);
  std::printf("load                 %.1f ms\n", 1e3 * r.load_seconds);
  std::printf("time to first token  %.2f ms (prompt of %d tokens)\n", 1e3 * r.ttft.median,
              args.prefill_lengths.front());
  for (const auto& [n, s] : r.prefill) {
    std::printf("prefill pp%-5d      %.1f tok/s [%.1f, %.1f]", n, s.median, s.min, s.max);
    if (peak.ops_per_second > 0 && traffic.integer_weights) {
      std::printf("  %.1f%% of int8 peak", 100 * peak_fraction(n, s.median));
    }
    std::printf("\n");
  }
  for (const auto& [d, s] : r.decode) {
    std::printf("decode tg%d @ %-5d  %.1f tok/s [%.1f, %.1f]", args.decode_steps, d, s.median,
                s.min, s.max);
    if (bandwidth > 0) {
      std::printf("  %.1f%% of bandwidth bound (%.1f tok/s)", 100 * bandwidth_fraction(d, s.median),
                  bandwidth / decode_bytes(d));
    }
    std::printf("\n");
  }
  for (int d : r.skipped_depths) {
    std::printf("decode tg%d @ %-5d  skipped: needs max_seq >= %d (model has %d)\n",
                args.decode_steps, d, d + args.decode_steps + 1, shape.max_seq);
  }
  std::printf("read per token       %.1f MB of weights + %.1f KB of KV cache per live position\n",
              traffic.weight_bytes_per_token / 1e6, traffic.kv_bytes_per_position / 1e3);
  if (bandwidth > 0) {
    std::printf("machine (%d thread%s) memory read %.1f GB/s", args.threads,
                args.threads == 1 ? "" : "s", bandwidth / 1e9);
    if (peak.ops_per_second > 0) {
      std::printf(
          ", int8 peak %.0f GOPS (%s; prefill: %.1f M weight MACs/token + %.1f M of the output "
          "head for the last position)",
          peak.ops_per_second / 1e9, peak.isa.c_str(),
          (traffic.weight_macs_per_token - traffic.output_head_macs) / 1e6,
          traffic.output_head_macs / 1e6);
    }
    std::printf("\n");
  }
  std::printf("RSS                  %.1f MB after load, %.1f MB peak\n", r.rss_after_load_mb,
              r.peak_rss_mb);
  std::printf(
      "memory bar           peak RSS %.1f MB = %.1f%% of (file %.1f MB + KV cache %.1f MB) "
      "x 1.1\n",
      r.peak_rss_mb, 100 * rss_bar_fraction, file_mb, kv_cache_mb);
  return Status::Ok();
}

void SetupBench(CLI::App& app, Status* result) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Measure load, prefill and decode speed of a model");
  cmd->add_option("model", args->model, "The .tflite model")->required();
  cmd->add_option("--threads", args->threads, "Worker threads (default: physical cores)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--int8-arithmetic", args->int8_arithmetic,
                  "int8 arithmetic: reference (TFLite's reference kernels, default) or xnnpack "
                  "(what LiteRT's XNNPACK delegate computes, for comparisons with LiteRT)")
      ->check(CLI::IsMember({"reference", "xnnpack"}));
  cmd->add_option("--reps,--repetitions", args->repetitions,
                  "Repetitions (median, min, max reported)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--pp", args->prefill_lengths, "Prefill lengths to time (default 128 512)")
      ->delimiter(',')
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--tg,--decode-steps", args->decode_steps,
                  "Decode steps per measurement (default 128)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--depths", args->depths, "Context depths for decode (default 0 1024)")
      ->delimiter(',')
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_flag("!--no-bandwidth", args->bandwidth, "Skip the memory bandwidth probe");
  cmd->add_flag("!--no-fused-attention", args->fuse_attention,
                "Run attention as the file's ops over every cache row (the baseline the fused "
                "live-positions kernel is measured against)");
  cmd->add_flag("!--float-int4-activations", args->int4_int8_activations,
                "Decode int4 weights against float activations (the exact path) instead of "
                "activations quantized to int8 per group of 32");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunBench(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("bench", SetupBench);
}  // namespace liteq::cli
