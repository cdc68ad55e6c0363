// `liteq inspect` and `liteq eval --reference` as a user runs them: JSON with the
// documented keys and counts that agree with each other, zero divergence of a file from
// itself, a checkpoint reference built in memory, and clear errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "e2e_util.h"

namespace liteq::e2e {
namespace {

CommandResult RunLiteq(const std::string& args, bool with_stderr = false) {
  return RunShell(std::string(LITEQ_BINARY) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

// Runs the liteq binary; stderr (progress) is discarded unless `with_stderr`.
nlohmann::json RunJson(const std::string& args) {
  CommandResult r = RunLiteq(args);
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << r.output;
  return j;
}

// Float and weight-only int8 exports of llama-tiny, written once through the CLI.
struct Files {
  std::string float_path = TempPath("cli_tools_llama.f32.tflite");
  std::string int8_path = TempPath("cli_tools_llama.w8.tflite");
};
const Files& ExportedFiles() {
  static const Files files = [] {
    Files f;
    const std::string dir = ModelDir("llama-tiny");
    EXPECT_EQ(RunLiteq("export " + dir + " -o " + f.float_path + " --max-seq 256").exit_code, 0);
    EXPECT_EQ(RunLiteq("quantize " + dir + " --recipe weight_only_int8 -o " + f.int8_path +
                       " --max-seq 256")
                  .exit_code,
              0);
    return f;
  }();
  return files;
}

TEST(CliInspectTest, DiffJsonCountsEveryRewrittenWeight) {
  const Files& f = ExportedFiles();
  const nlohmann::json j = RunJson("inspect " + f.float_path + " " + f.int8_path + " --json");
  ASSERT_TRUE(j.contains("first") && j.contains("second") && j.contains("diff"));
  for (const char* key :
       {"signatures", "op_counts", "op_dtype_counts", "compute_class_counts", "float_op_counts",
        "constant_bytes", "total_constant_bytes", "metadata"}) {
    EXPECT_TRUE(j["second"].contains(key)) << key;
  }
  const nlohmann::json& d = j["diff"];
  const int fc_ops = j["first"]["op_counts"]["FULLY_CONNECTED"].get<int>();
  EXPECT_EQ(d["input_dtype_changes"]["FULLY_CONNECTED input 1: float32 -> int8(deq)"].get<int>(),
            fc_ops);
  const int dequantize_ops = j["second"]["op_counts"]["DEQUANTIZE"].get<int>();
  EXPECT_GT(dequantize_ops, 0);
  EXPECT_FALSE(j["first"]["op_counts"].contains("DEQUANTIZE"));
  EXPECT_EQ(d["ops_only_in_second"]["DEQUANTIZE"].get<int>(), dequantize_ops);
  EXPECT_EQ(d["op_count_changes"]["DEQUANTIZE"]["first"].get<int>(), 0);
  EXPECT_EQ(d["changed_tensors"].size(), static_cast<size_t>(dequantize_ops));
  EXPECT_TRUE(d["compute_class_moves"].empty());
  EXPECT_EQ(j["second"]["metadata"]["liteq.quantization"]["recipe"], "weight_only_int8");
  // The file's own numbers: the quantize step records how many DEQUANTIZE ops it added.
  EXPECT_EQ(j["second"]["metadata"]["liteq.quantization"]["dequantize_ops"].get<int>(),
            dequantize_ops);
}

TEST(CliInspectTest, TensorsOptionListsMatchingTensorsWithScales) {
  const Files& f = ExportedFiles();
  const nlohmann::json j =
      RunJson("inspect " + f.int8_path + " --tensors 'q_proj\\.weight\\.int8$' --json");
  ASSERT_TRUE(j.contains("tensors"));
  // 4 layers x 2 subgraphs (prefill, decode).
  ASSERT_EQ(j["tensors"].size(), 8u);
  for (const auto& t : j["tensors"]) {
    EXPECT_EQ(t["dtype"], "int8");
    const int rows = t["shape"][0].get<int>();
    EXPECT_EQ(t["quantization"]["scale_count"].get<int>(), rows);  // per output channel
    EXPECT_EQ(t["quantization"]["zero_point_max"].get<int>(), 0);
    EXPECT_GT(t["quantization"]["scale_min"].get<double>(), 0.0);
  }
  CommandResult text = RunLiteq("inspect " + f.int8_path + " --tensors 'q_proj'");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.output.find("per-axis dim 0: 128 scales"), std::string::npos) << text.output;
}

TEST(CliInspectTest, BadRegexIsAClearError) {
  const Files& f = ExportedFiles();
  const CommandResult r = RunLiteq("inspect " + f.float_path + " --tensors '('", true);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("invalid regex '('"), std::string::npos) << r.output;
}

TEST(CliEvalReferenceTest, FileAgainstItselfHasZeroKlAndFullAgreement) {
  const Files& f = ExportedFiles();
  const nlohmann::json j = RunJson("eval " + f.float_path + " --reference " + f.float_path +
                                   " --windows 2 --prompts 2 --gen 8 --json");
  EXPECT_EQ(j["windows"].get<int>(), 2);
  EXPECT_EQ(j["tokens_scored"].get<int>(), 2 * 255);
  EXPECT_EQ(j["kl_divergence"]["max"].get<double>(), 0.0);
  EXPECT_EQ(j["kl_divergence"]["mean"]["value"].get<double>(), 0.0);
  EXPECT_EQ(j["same_top"]["value"].get<double>(), 1.0);
  EXPECT_EQ(j["perplexity"]["ratio"]["value"].get<double>(), 1.0);
  EXPECT_EQ(j["delta_p"]["rms"]["value"].get<double>(), 0.0);
  EXPECT_EQ(j["greedy"]["prompts"].get<int>(), 2);
  EXPECT_EQ(j["greedy"]["identical_prompts"].get<int>(), 2);
  EXPECT_TRUE(j["greedy"]["results"][0]["first_divergence"].is_null());
  EXPECT_EQ(j["greedy"]["results"][0]["reference_ids"].size(), 8u);
}

TEST(CliEvalReferenceTest, CheckpointReferenceMatchesTheExportedFloatModel) {
  const Files& f = ExportedFiles();
  const nlohmann::json plain = RunJson("eval " + f.float_path + " --windows 2 --json");
  const nlohmann::json j =
      RunJson("eval " + f.int8_path + " --reference " + ModelDir("llama-tiny") +
              " --windows 2 --prompts 1 --gen 8 --json");
  // The in-memory float graph is the exported one: the same perplexity.
  EXPECT_NEAR(j["perplexity"]["reference"]["value"].get<double>(),
              plain["perplexity"].get<double>(), 1e-9 * plain["perplexity"].get<double>());
  EXPECT_GT(j["kl_divergence"]["mean"]["value"].get<double>(), 0.0);
  EXPECT_LT(j["kl_divergence"]["mean"]["value"].get<double>(), 1e-2);
  const auto ci = j["kl_divergence"]["mean"]["ci95"];
  ASSERT_EQ(ci.size(), 2u);
  EXPECT_LE(ci[0].get<double>(), ci[1].get<double>());
  for (const char* key : {"reference", "quantized", "ratio", "ln_ratio", "difference",
                          "delta_percent", "correlation"}) {
    EXPECT_TRUE(j["perplexity"].contains(key)) << key;
  }
  for (const char* key : {"mean", "median", "p99", "max"}) {
    EXPECT_TRUE(j["kl_divergence"].contains(key)) << key;
  }
}

TEST(CliEvalReferenceTest, MissingReferenceIsAClearError) {
  const Files& f = ExportedFiles();
  const CommandResult r =
      RunLiteq("eval " + f.int8_path + " --reference /nonexistent/ref.tflite --windows 1", true);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/ref.tflite"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace liteq::e2e
