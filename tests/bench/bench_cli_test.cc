// The benchmark commands as the comparison script runs them: `liteq synth`, `export`,
// `bench --json`, `gguf`; and, when bench/llamacpp has been installed (npm ci), that
// llama.cpp running the GGUF greedily produces the same tokens as liteq running the
// .tflite of the same synthetic weights (which checks the GGUF's names, metadata, q/k
// permutation and Gemma norms end to end).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string TempDir() {
  static const std::string dir = [] {
    auto d =
        std::filesystem::temp_directory_path() / ("liteq_bench_cli_" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);  // a stale directory of an earlier process with this pid
    std::filesystem::create_directories(d);
    return d.string();
  }();
  return dir;
}

CommandResult RunShell(const std::string& command) {
  CommandResult r;
  const std::string err_file = TempDir() + "/stderr.txt";
  FILE* pipe = ::popen((command + " 2>" + err_file).c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  return r;
}

CommandResult Liteq(const std::string& args) {
  return RunShell(std::string(LITEQ_BINARY) + " " + args);
}

// A synthetic checkpoint and its float export, made once per shape.
std::string SynthExport(const std::string& shape, int max_seq) {
  const std::string dir = TempDir() + "/" + shape;
  const std::string tflite = dir + "-" + std::to_string(max_seq) + ".tflite";
  if (std::filesystem::exists(tflite)) return tflite;
  CommandResult s = Liteq("synth --shape " + shape + " -o " + dir + " --seed 3");
  EXPECT_EQ(s.exit_code, 0) << s.err;
  CommandResult e = Liteq("export " + dir + " -o " + tflite + " --max-seq " +
                          std::to_string(max_seq) + " --prefill-len 32");
  EXPECT_EQ(e.exit_code, 0) << e.err;
  return tflite;
}

void ExpectStats(const nlohmann::json& s, int n, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_TRUE(s.is_object()) << s.dump();
  EXPECT_EQ(s["n"].get<int>(), n);
  const double lo = s["min"], mid = s["median"], hi = s["max"];
  EXPECT_GT(lo, 0);
  EXPECT_LE(lo, mid);
  EXPECT_LE(mid, hi);
}

TEST(BenchCli, JsonHasEveryMeasurement) {
  const std::string model = SynthExport("llama-test", 320);
  CommandResult b = Liteq("bench " + model +
                          " --json --reps 3 --pp 32,64 --tg 8 --depths 0,256,400 --no-bandwidth");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto j = nlohmann::json::parse(b.out);
  EXPECT_EQ(j["runtime"], "liteq");
  // Default: the physical cores (at least 1, at most the logical CPUs).
  EXPECT_GE(j["threads"].get<int>(), 1);
  EXPECT_LE(j["threads"].get<unsigned>(), std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(j["reps"].get<int>(), 3);
  EXPECT_EQ(j["max_seq"].get<int>(), 320);
  EXPECT_EQ(j["prefill_signatures"], nlohmann::json::array({32}));
  EXPECT_GT(j["load_seconds"].get<double>(), 0);
  ExpectStats(j["ttft_seconds"], 3, "ttft");
  EXPECT_EQ(j["ttft_prompt_tokens"].get<int>(), 32);
  ExpectStats(j["pp"]["pp32"]["tokens_per_second"], 3, "pp32");
  ExpectStats(j["pp"]["pp64"]["tokens_per_second"], 3, "pp64");
  ExpectStats(j["tg"]["tg8@0"]["tokens_per_second"], 3, "tg8@0");
  ExpectStats(j["tg"]["tg8@256"]["tokens_per_second"], 3, "tg8@256");
  EXPECT_FALSE(j["tg"].contains("tg8@400"));
  EXPECT_EQ(j["skipped_depths"], nlohmann::json::array({400}));  // 400 + 8 > max_seq
  EXPECT_GT(j["weight_bytes"].get<double>(), 4e6 * 4);           // 4.2M float32 parameters
  // Read per decode token (bench/model_traffic.h), from llama-test's shape: 2 layers of
  // q, o [64, 64], k, v [32, 64], gate, up, down 64 x 128, and the head [32000, 64]
  // (the embedding table is gathered, one row per token, and not counted).
  const int64_t macs = 2 * (2 * 64 * 64 + 2 * 32 * 64 + 3 * 64 * 128) + 32000 * 64;
  EXPECT_EQ(j["weight_macs_per_token"].get<int64_t>(), macs);
  EXPECT_EQ(j["output_head_macs"].get<int64_t>(), 32000 * 64);  // the head [32000, 64]
  EXPECT_EQ(j["weight_bytes_per_token"].get<int64_t>(), 4 * macs);
  EXPECT_EQ(j["kv_bytes_per_position"].get<int64_t>(), 2 * 2 * 2 * 16 * 4);  // layers, k+v, heads
  EXPECT_EQ(j["tg"]["tg8@256"]["bytes_per_token"].get<double>(), 4.0 * macs + 512 * (256 + 4));
  EXPECT_GT(j["rss_after_load_mb"].get<double>(), 0);
  EXPECT_GE(j["peak_rss_mb"].get<double>(), j["rss_after_load_mb"].get<double>());
  // Issue #6's memory bar, in decimal MB like the file size: (file + KV cache) x 1.1, the
  // cache being max_seq positions of kv_bytes_per_position.
  const double file_mb = static_cast<double>(std::filesystem::file_size(model)) / 1e6;
  const double kv_mb = 320.0 * 2 * 2 * 2 * 16 * 4 / 1e6;
  EXPECT_DOUBLE_EQ(j["file_mb"].get<double>(), file_mb);
  EXPECT_DOUBLE_EQ(j["kv_cache_mb"].get<double>(), kv_mb);
  EXPECT_NEAR(j["rss_bar_mb"].get<double>(), (file_mb + kv_mb) * 1.1, 1e-9);
  EXPECT_NEAR(j["peak_rss_bar_fraction"].get<double>(),
              j["peak_rss_mb"].get<double>() / j["rss_bar_mb"].get<double>(), 1e-9);
  // The time to first token of a 32-token prompt is the pp32 prompt's latency (with an
  // odd number of repetitions both medians come from the same repetition).
  EXPECT_NEAR(32 / j["ttft_seconds"]["median"].get<double>(),
              j["pp"]["pp32"]["tokens_per_second"]["median"].get<double>(),
              1e-6 * j["pp"]["pp32"]["tokens_per_second"]["median"].get<double>());
}

TEST(BenchCli, MachineLimitsAndFractionsArePrinted) {
  const std::string model = SynthExport("llama-test", 320);
  CommandResult b = Liteq("bench " + model + " --json --reps 1 --pp 32 --tg 8 --depths 0");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto j = nlohmann::json::parse(b.out);
  const double bandwidth = j["read_bandwidth_bytes_per_second"].get<double>();
  EXPECT_GT(bandwidth, 1e8);  // any machine streams more than 100 MB/s
  const double tg = j["tg"]["tg8@0"]["tokens_per_second"]["median"].get<double>();
  EXPECT_NEAR(j["tg"]["tg8@0"]["bandwidth_bound_fraction"].get<double>(),
              tg * j["tg"]["tg8@0"]["bytes_per_token"].get<double>() / bandwidth, 1e-9);
  const double peak = j["int8_peak_ops_per_second"].get<double>();
  if (j["int8_peak_isa"] == "none") {
    EXPECT_EQ(peak, 0);
  } else {
    EXPECT_GT(peak, 1e9);
    // A 32-token prompt needs every weight for each position but the output head only
    // for the last one (its first token's logits).
    const double pp = j["pp"]["pp32"]["tokens_per_second"]["median"].get<double>();
    const double head = j["output_head_macs"].get<double>();
    EXPECT_GT(head, 0);
    const double macs = (j["weight_macs_per_token"].get<double>() - head) * 32 + head;
    EXPECT_EQ(j["pp"]["pp32"]["weight_macs"].get<double>(), macs);
    EXPECT_NEAR(j["pp"]["pp32"]["int8_peak_fraction"].get<double>(), 2 * macs / 32 * pp / peak,
                1e-9);
  }
}

TEST(BenchCli, RejectsPromptLongerThanTheCache) {
  const std::string model = SynthExport("llama-test", 320);
  CommandResult b = Liteq("bench " + model + " --pp 512 --tg 4 --depths 0 --reps 1 --no-bandwidth");
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_NE(b.err.find("max_seq"), std::string::npos) << b.err;
}

TEST(BenchCli, SynthRejectsUnknownShape) {
  CommandResult s = Liteq("synth --shape llama-9000b -o " + TempDir() + "/nope");
  EXPECT_NE(s.exit_code, 0);
  EXPECT_NE(s.err.find("tinyllama-1.1b"), std::string::npos) << s.err;  // lists the known ones
}

class LlamaCppAgreement : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaCppAgreement, GreedyTokensMatchLiteq) {
  const std::string harness = std::string(LITEQ_BENCH_DIR) + "/llamacpp";
  if (!std::filesystem::exists(harness + "/node_modules/node-llama-cpp") ||
      RunShell("node --version").exit_code != 0) {
    GTEST_SKIP() << "node-llama-cpp not installed (npm ci --ignore-scripts --omit=optional in "
                 << harness << ")";
  }
  const std::string shape = GetParam();
  const std::string model = SynthExport(shape, 320);
  const std::string dir = TempDir() + "/" + shape;
  CommandResult r = Liteq("run " + model + " --prompt 'The jury said that the city' -n 8 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto liteq_run = nlohmann::json::parse(r.out);
  std::string prompt_ids;
  for (int id : liteq_run["prompt_ids"])
    prompt_ids += (prompt_ids.empty() ? "" : ",") + std::to_string(id);
  for (const std::string type : {"f32", "q8_0"}) {
    SCOPED_TRACE(type);
    const std::string gguf = dir + "-" + type + ".gguf";
    CommandResult g = Liteq("gguf " + dir + " -o " + gguf + " --type " + type);
    ASSERT_EQ(g.exit_code, 0) << g.err;
    CommandResult l = RunShell(
        "cd " + harness + " && UV_THREADPOOL_SIZE=1 node bench.mjs --model " + gguf +
        " --threads 1 --reps 1 --pp 8 --tg 2 --depths 0 --greedy-n 8 --greedy-ids " + prompt_ids);
    ASSERT_EQ(l.exit_code, 0) << l.err;
    const auto llama = nlohmann::json::parse(l.out);
    // Random weights give flat logits, so this is a sharp check: a wrong permutation,
    // norm or metadata value changes the argmax within a few tokens.
    EXPECT_EQ(llama["greedy"], liteq_run["ids"]) << l.out;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LlamaCppAgreement, ::testing::Values("llama-test", "gemma3-test"));

// bench/compare_table.mjs over rounds (bench-compare.sh --rounds): a row gives the
// median over the rounds [smallest min - largest max], and a ratio the median of the
// ratios measured within one round, which differs here from the ratio of the medians.
TEST(CompareTable, RoundsGiveMediansAndRatiosWithinRounds) {
  if (RunShell("node --version").exit_code != 0) GTEST_SKIP() << "node not installed";
  const std::string dir = TempDir() + "/compare-rounds";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, double pp, double tg, double peak_fraction) {
    auto stats = [](double median) {
      return nlohmann::json{
          {"median", median}, {"min", median - 10}, {"max", median + 10}, {"n", 3}};
    };
    nlohmann::json j = {{"pp", {{"pp128", {{"tokens_per_second", stats(pp)}}}}},
                        {"tg", {{"tg64@0", {{"tokens_per_second", stats(tg)}}}}}};
    if (peak_fraction > 0) {  // liteq's: the machine limits and its prefill's weight MACs
      j["read_bandwidth_bytes_per_second"] = 1e10;
      j["int8_peak_ops_per_second"] = 1e11;
      j["pp"]["pp128"]["weight_macs"] = 128 * 1e8;
      j["pp"]["pp128"]["int8_peak_fraction"] = peak_fraction;
      j["tg"]["tg64@0"]["bandwidth_bound_fraction"] = 0.8;
    }
    std::ofstream(dir + "/" + name + ".json") << j.dump();
  };
  // liteq / llama.cpp prefill per round: 100/50, 300/100, 120/100 -> ratios 2, 3, 1.2
  // (median 2.00; the medians 120 and 100 would give 1.20). Decode: 60/30 in every round.
  const double liteq_pp[] = {100, 300, 120}, llama_pp[] = {50, 100, 100};
  const double liteq_peak_fraction[] = {0.4, 0.5, 0.45};
  for (int r = 0; r < 3; ++r) {
    write("liteq-static_int8-t1-r" + std::to_string(r + 1), liteq_pp[r], 60,
          liteq_peak_fraction[r]);
    write("llamacpp-q8_0-t1-r" + std::to_string(r + 1), llama_pp[r], 30, 0);
  }
  CommandResult t =
      RunShell("node " + std::string(LITEQ_BENCH_DIR) + "/compare_table.mjs --shape test " + dir);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("3 rounds"), std::string::npos) << t.out;
  EXPECT_NE(
      t.out.find("| liteq | static_int8 | 1 | 120 [90.0-310] | 60.0 [50.0-70.0] | 2.00 | 2.00 |"),
      std::string::npos)
      << t.out;
  EXPECT_NE(
      t.out.find("| llama.cpp | q8_0 | 1 | 100 [40.0-110] | 30.0 [20.0-40.0] | 1.00 | 1.00 |"),
      std::string::npos)
      << t.out;
  // The limits table: liteq's shares (medians over rounds), and llama.cpp's prefill
  // against the same peak with liteq's MAC count: 2 x 1e8 MACs per token x tok/s / 1e11,
  // per round 10%, 20%, 20%.
  EXPECT_NE(t.out.find("| static_int8 | 1 | 10.0 | 100 | 45% | 80% |"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("| llama.cpp q8_0 | 1 | (same) | (same) | 20% | - |"), std::string::npos)
      << t.out;
}

// Removes the temporary checkpoints and models after the last test.
class TempDirCleanup : public ::testing::Environment {
 public:
  void TearDown() override { std::filesystem::remove_all(TempDir()); }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new TempDirCleanup);

}  // namespace
