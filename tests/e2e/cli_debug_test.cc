// `liteq debug`, `liteq sensitivity` and `liteq quantize --target-kl` as a user runs
// them on gemma3-tiny: JSON with the documented keys, an HTML report that Chromium
// (headless) renders with one bar and one table row per tensor, exact zeros for a float
// file against its checkpoint, and a mixed-precision plan whose file meets the target
// when `liteq eval` measures it.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "e2e_util.h"

namespace liteq::e2e {
namespace {

CommandResult RunLiteq(const std::string& args) {
  return RunShell(std::string(LITEQ_BINARY) + " " + args + " 2>/dev/null");
}

nlohmann::json RunJson(const std::string& args) {
  CommandResult r = RunLiteq(args);
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << r.output;
  return j;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

const std::string kModel = ModelDir("gemma3-tiny");
const std::string kLayout = " --prefill-len 32 --max-seq 256";

struct Files {
  std::string float_path = TempPath("cli_debug.f32.tflite");
  std::string int8_path = TempPath("cli_debug.s8.tflite");
};
const Files& ExportedFiles() {
  static const Files files = [] {
    Files f;
    EXPECT_EQ(RunLiteq("export " + kModel + " -o " + f.float_path + kLayout).exit_code, 0);
    EXPECT_EQ(RunLiteq("quantize " + kModel + " --recipe static_int8 --calib-samples 8 -o " +
                       f.int8_path + kLayout)
                  .exit_code,
              0);
    return f;
  }();
  return files;
}

TEST(CliDebugTest, JsonAndHtmlReportRenderInChromium) {
  const Files& f = ExportedFiles();
  const std::string html = TempPath("cli_debug_report.html");
  std::remove(html.c_str());
  const nlohmann::json j = RunJson(
      "debug " + f.int8_path + " --reference " + f.float_path +
      " --samples 3 --decode 4 --growth-steps 8 --growth-prompts 2 --top 0 --json --html " + html);
  const size_t n = j["tensor_count"].get<size_t>();
  ASSERT_GT(n, 100u);
  ASSERT_EQ(j["tensors"].size(), n);
  double previous = -1e300;
  bool seen_exact = false;
  for (const auto& t : j["tensors"]) {
    for (const char* key :
         {"name", "reference", "dtype", "scale", "zero_point", "reference_min", "reference_max",
          "rmse", "max_abs_error", "clipped_fraction", "values"}) {
      ASSERT_TRUE(t.contains(key)) << key;
    }
    ASSERT_TRUE(t.contains("channel_snr_db"));
    if (t["snr_db"].is_null() && t["channel_snr_db"].is_null()) {  // exact: sorted last
      seen_exact = true;
      continue;
    }
    EXPECT_FALSE(seen_exact) << t["name"];
    // Ranked by the lower of the tensor SNR and the median channel SNR (null = +inf).
    double key = 1e300;
    for (const char* k : {"snr_db", "channel_snr_db"}) {
      if (!t[k].is_null()) key = std::min(key, t[k].get<double>());
    }
    EXPECT_GE(key, previous);
    previous = key;
  }
  ASSERT_EQ(j["growth"]["mean_kl"].size(), 8u);
  EXPECT_EQ(j["growth"]["prompts"].get<int>(), 2);

  // Chromium renders the page (layout and the inline script run): every bar got a box.
  const char* chromium = std::getenv("LITEQ_CHROMIUM");
  const std::string browser = chromium != nullptr ? chromium : "chromium";
  const CommandResult dom =
      RunShell(browser +
               " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
               "--disable-background-networking --disable-component-update --disable-sync "
               "--user-data-dir=$(mktemp -d) --dump-dom file://" +
               html + " 2>/dev/null");
  ASSERT_EQ(dom.exit_code, 0) << "chromium is required (scripts/install-deps.sh installs it)";
  EXPECT_NE(dom.output.find("data-bars-rendered=\"" + std::to_string(n) + "\""), std::string::npos)
      << dom.output.substr(0, 2000);
  EXPECT_EQ(Count(dom.output, "class=\"snr-bar\""), n);
  EXPECT_EQ(Count(dom.output, "<tr class=\"tensor-row\""), n);
  EXPECT_EQ(Count(dom.output, "class=\"growth-point\""), 8u);
  const std::string worst = j["tensors"][0]["name"].get<std::string>();
  EXPECT_NE(dom.output.find("<td>1</td><td>" + worst + "</td>"), std::string::npos) << worst;
}

// The weights table: every quantized FULLY_CONNECTED weight of a weight-only int4 file
// against the checkpoint's float weight, int4 (blocks of 32) clearly worse than int8.
TEST(CliDebugTest, WeightsTableComparesEveryQuantizedWeight) {
  const Files& f = ExportedFiles();
  const std::string w4 = TempPath("cli_debug.w4.tflite");
  ASSERT_EQ(RunLiteq("quantize " + kModel + " --recipe weight_only_int4 --block-size 32 -o " + w4 +
                     kLayout)
                .exit_code,
            0);
  const std::string common =
      " --reference " + kModel + " --samples 1 --decode 1 --growth-steps 0 --top 0 --json";
  const nlohmann::json j4 = RunJson("debug " + w4 + common);
  const nlohmann::json j8 = RunJson("debug " + f.int8_path + common);
  // gemma3-tiny: 6 layers x 7 projections, + the embedding table.
  ASSERT_GE(j4["weight_count"].get<int>(), 42);
  ASSERT_GE(j8["weight_count"].get<int>(), 42);
  auto median_snr = [](const nlohmann::json& weights, const std::string& dtype) {
    std::vector<double> v;
    for (const auto& w : weights) {
      if (w["dtype"] == dtype && !w["snr_db"].is_null()) v.push_back(w["snr_db"].get<double>());
    }
    EXPECT_FALSE(v.empty()) << dtype;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  size_t blocks = 0;
  for (const auto& w : j4["weights"]) blocks += w["granularity"] == "block 32";
  EXPECT_GE(blocks, 42u);
  const double snr4 = median_snr(j4["weights"], "int4");
  const double snr8 = median_snr(j8["weights"], "int8");
  // Each bit is worth ~6 dB; int4 blocks keep less than int8 channels.
  EXPECT_GT(snr8, 35.0);
  EXPECT_GT(snr4, 15.0);
  EXPECT_GT(snr8, snr4 + 15.0);
}

TEST(CliDebugTest, FloatFileAgainstItsCheckpointIsExact) {
  const Files& f = ExportedFiles();
  const nlohmann::json j = RunJson("debug " + f.float_path + " --reference " + kModel +
                                   " --samples 2 --decode 4 --growth-steps 8 --json");
  EXPECT_EQ(j["tensor_count"].get<int>(), 0);
  EXPECT_EQ(j["weight_count"].get<int>(), 0);  // no integer constants
  ASSERT_EQ(j["growth"]["mean_kl"].size(), 8u);
  for (const auto& kl : j["growth"]["mean_kl"]) EXPECT_EQ(kl.get<double>(), 0.0);
}

TEST(CliDebugTest, TargetKlPlanMeetsTheTargetWithFewerGroupsThanAllAttention) {
  const std::string common = " --recipe static_int8 --calib-samples 8 --max-seq 256";
  const nlohmann::json sweep =
      RunJson("sensitivity " + kModel + common + " --windows 2 --seq 64 --json");
  ASSERT_GE(sweep["groups"].size(), 6u);
  const double baseline = sweep["baseline_kl"].get<double>();
  double best = baseline;
  double previous = 1e300;
  for (const auto& g : sweep["groups"]) {
    best = std::min(best, g["mean_kl"].get<double>());
    EXPECT_LE(g["kl_reduction_per_mb"].get<double>(), previous);
    previous = g["kl_reduction_per_mb"].get<double>();
  }
  ASSERT_GT(baseline, 0.0);
  ASSERT_LT(best, baseline);
  const double target = (best + baseline) / 2;
  const std::string out = TempPath("cli_debug.mp.tflite");
  char target_text[64];
  std::snprintf(target_text, sizeof(target_text), "%.9g", target);
  const nlohmann::json q = RunJson("quantize " + kModel + common + " --target-kl " + target_text +
                                   " --kl-windows 2 --kl-seq 64 -o " + out + " --json");
  const nlohmann::json& plan = q["mixed_precision"];
  EXPECT_TRUE(plan["met"].get<bool>());
  EXPECT_EQ(plan["baseline_kl"].get<double>(), baseline);  // same calibration, same windows
  // Cheaper than "all attention in float" (norm, projections and core): fewer float
  // ops and fewer float weight bytes.
  size_t attention_tensors = 0;
  int64_t attention_bytes = 0;
  for (const auto& g : sweep["groups"]) {
    if (g["kind"] == "attn_in" || g["kind"] == "attn_out" || g["kind"] == "attn_core") {
      attention_tensors += g["tensors"].get<size_t>();
      attention_bytes += g["extra_float_bytes"].get<int64_t>();
    }
  }
  ASSERT_GT(attention_tensors, 0u);
  EXPECT_GE(plan["float_groups"].size(), 1u);
  EXPECT_LT(plan["float_tensor_count"].get<size_t>(), attention_tensors);
  EXPECT_LT(plan["extra_float_bytes"].get<int64_t>(), attention_bytes);
  // `liteq eval` measures the written file on the same windows.
  const nlohmann::json e = RunJson("eval " + out + " --reference " + kModel +
                                   " --seq 64 --windows 2 --prompts 0 --json");
  EXPECT_LE(e["kl_divergence"]["mean"]["value"].get<double>(), std::stod(target_text) * (1 + 1e-9));
  // The plan is in the file's metadata.
  const CommandResult inspect = RunLiteq("inspect " + out + " --json");
  ASSERT_EQ(inspect.exit_code, 0);
  EXPECT_NE(inspect.output.find("mixed_precision"), std::string::npos);
  EXPECT_NE(inspect.output.find(plan["float_groups"][0].get<std::string>()), std::string::npos);
}

// The oracle for --target-kl: on gemma3-tiny with injected activation outliers
// (x30 on 2% of the channels of every pre-attention and pre-MLP norm), keeping all of
// attention float cannot fix the MLP norms; the plan meets a target that "all attention
// in float" misses, with fewer groups, because each norm travels with the projections
// that read it (op_groups.cc).
TEST(CliDebugTest, OutlierModelPlanBeatsAllAttentionInFloat) {
  const std::string common =
      " --recipe static_int8 --inject-outliers all --calib-samples 8 --max-seq 256";
  const std::string eval_args =
      " --reference " + kModel + " --seq 64 --windows 2 --prompts 0 --json";
  const std::string attention = TempPath("cli_debug.outliers.attn.tflite");
  ASSERT_EQ(
      RunLiteq("quantize " + kModel + common + " --float-tensors '^layers\\.[0-9]+\\.attn\\.'" +
               " -o " + attention + " --json")
          .exit_code,
      0);
  const double attention_kl =
      RunJson("eval " + attention + eval_args)["kl_divergence"]["mean"]["value"].get<double>();
  const nlohmann::json sweep =
      RunJson("sensitivity " + kModel + common + " --windows 2 --seq 64 --json");
  ASSERT_GT(sweep["baseline_kl"].get<double>(), attention_kl);  // outliers hurt: attention helps
  size_t attention_groups = 0;
  for (const auto& g : sweep["groups"]) {
    const std::string kind = g["kind"].get<std::string>();
    if (kind == "attn_in" || kind == "attn_out" || kind == "attn_core") ++attention_groups;
  }
  ASSERT_EQ(attention_groups, 3u);
  // A target all-attention-float misses by 30%.
  char target[64];
  std::snprintf(target, sizeof(target), "%.9g", attention_kl * 0.7);
  const std::string out = TempPath("cli_debug.outliers.mp.tflite");
  const nlohmann::json q = RunJson("quantize " + kModel + common + " --target-kl " + target +
                                   " --kl-windows 2 --kl-seq 64 -o " + out + " --json");
  const nlohmann::json& plan = q["mixed_precision"];
  ASSERT_TRUE(plan["met"].get<bool>()) << plan.dump();
  EXPECT_LT(plan["float_groups"].size(), attention_groups) << plan.dump();
  const auto& groups = plan["float_groups"];
  EXPECT_NE(std::find(groups.begin(), groups.end(), "mlp_in"), groups.end()) << plan.dump();
  const double written_kl =
      RunJson("eval " + out + eval_args)["kl_divergence"]["mean"]["value"].get<double>();
  EXPECT_LE(written_kl, std::stod(target) * (1 + 1e-9));
  std::printf(
      "[ outliers ] all-quantized KL %.5f, all attention float %.5f; target %s met by %s "
      "(%zu groups) at %.5f\n",
      sweep["baseline_kl"].get<double>(), attention_kl, target, groups.dump().c_str(),
      groups.size(), written_kl);
}

// --target-ppl-delta: the same planner with the perplexity change as the stopping rule;
// `liteq eval` measures the written file's PPL change on the same windows.
TEST(CliDebugTest, TargetPplDeltaPlanIsWhatEvalMeasures) {
  // minmax: the outlier model's all-quantized PPL change is then well above the target
  // (moving_average on 2 windows of 64 tokens lands below it, leaving nothing to plan).
  const std::string common =
      " --recipe static_int8 --observer minmax --inject-outliers all --calib-samples 8 "
      "--max-seq 256";
  const std::string out = TempPath("cli_debug.outliers.ppl.tflite");
  const nlohmann::json q =
      RunJson("quantize " + kModel + common +
              " --target-ppl-delta 1.5 --kl-windows 2 --kl-seq 64 -o " + out + " --json");
  const nlohmann::json& plan = q["mixed_precision"];
  ASSERT_GT(plan["baseline_ppl_delta_percent"].get<double>(), 1.5) << plan.dump();
  ASSERT_TRUE(plan["met"].get<bool>()) << plan.dump();
  EXPECT_EQ(plan["target_ppl_delta_percent"].get<double>(), 1.5);
  EXPECT_FALSE(plan.contains("target_kl"));
  const double achieved = plan["achieved_ppl_delta_percent"].get<double>();
  EXPECT_LE(achieved, 1.5);
  const nlohmann::json e = RunJson("eval " + out + " --reference " + kModel +
                                   " --seq 64 --windows 2 --prompts 0 --json");
  // eval accumulates the log-probabilities its own way, and the planner's runs keep
  // every tensor (attention unfused, each float op its own SIMD kernel) while eval
  // runs the fused attention: equal up to float32 rounding of the logits (~1e-7
  // relative), which a wrong plan (a different model) would exceed by orders.
  EXPECT_NEAR(e["perplexity"]["delta_percent"].get<double>(), achieved, 1e-4);
  const double planned_kl = plan["achieved_kl"].get<double>();
  EXPECT_NEAR(e["kl_divergence"]["mean"]["value"].get<double>(), planned_kl, 1e-6 * planned_kl);
  // Both targets at once is an error.
  const CommandResult both = RunShell(std::string(LITEQ_BINARY) + " quantize " + kModel + common +
                                      " --target-kl 0.01 --target-ppl-delta 1 -o " + out + " 2>&1");
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.output.find("not both"), std::string::npos) << both.output;
}

}  // namespace
}  // namespace liteq::e2e
