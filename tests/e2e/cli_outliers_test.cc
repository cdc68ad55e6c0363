// The CLI side of outlier injection, SmoothQuant and static_int8_strict:
// `liteq export --inject-outliers`, `liteq quantize --inject-outliers/--smoothquant`,
// `liteq quantize --recipe static_int8_strict --kv-dtype int8` then `liteq run`.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "e2e_util.h"

namespace liteq::e2e {
namespace {

CommandResult RunLiteq(const std::string& args) {
  return RunShell(std::string(LITEQ_BINARY) + " " + args + " 2>&1");
}

TEST(CliOutliersTest, InjectedExportComputesTheSameFunction) {
  const std::string dir = ModelDir("gemma3-tiny");
  const std::string out = TempPath("cli_outliers.tflite");
  CommandResult e = RunLiteq("export " + dir + " -o " + out +
                             " --max-seq 256 --prefill-len 64 --inject-outliers 1,3:64 --json");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_EQ(nlohmann::json::parse(e.output)["outlier_sites"].get<int>(), 4);  // attn + mlp
  CommandResult r = RunLiteq("eval " + out + " --windows 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto window_nll = nlohmann::json::parse(r.output)["window_nll"].get<std::vector<double>>();
  const auto expected = ReadFloats(*OpenReference(dir), "eval.nll_per_window");
  ASSERT_EQ(window_nll.size(), 2u);
  EXPECT_NEAR(window_nll[0], expected[0], 1e-4);
  EXPECT_NEAR(window_nll[1], expected[1], 1e-4);
  // The rewritten constants are named so that tools can find them.
  CommandResult i = RunLiteq("inspect " + out + " --tensors 'outliers'");
  ASSERT_EQ(i.exit_code, 0) << i.output;
  EXPECT_NE(i.output.find("model.layers.3.pre_feedforward_layernorm.weight+1+outliers"),
            std::string::npos);
  EXPECT_NE(i.output.find("model.layers.1.self_attn.q_proj.weight+outliers"), std::string::npos);
  EXPECT_EQ(i.output.find("layers.2."), std::string::npos) << "only layers 1 and 3";
}

TEST(CliOutliersTest, BadFlagsAreClearErrors) {
  const std::string dir = ModelDir("gemma3-tiny");
  CommandResult r =
      RunLiteq("quantize " + dir + " --recipe weight_only_int8 --smoothquant 0.5 -o " +
               TempPath("never1.tflite"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--smoothquant applies to the static recipes"), std::string::npos)
      << r.output;
  r = RunLiteq("export " + dir + " --inject-outliers 9 -o " + TempPath("never2.tflite"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("layer 9"), std::string::npos) << r.output;
  r = RunLiteq("export " + dir + " --inject-outliers 1:zero -o " + TempPath("never3.tflite"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("must be a positive number"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(TempPath("never1.tflite")));
  EXPECT_FALSE(std::filesystem::exists(TempPath("never2.tflite")));
}

TEST(CliOutliersTest, SmoothQuantedStrictModelRunsInLiteq) {
  // static_int8_strict on Gemma: NEG (RoPE, as MUL) and SELECT_V2 (masks) are int8, the KV
  // cache too (--kv-dtype int8); nothing stays float.
  const std::string out = TempPath("cli_strict.tflite");
  CommandResult q = RunLiteq("quantize " + ModelDir("gemma3-tiny") +
                             " --recipe static_int8_strict --kv-dtype int8 --max-seq 128"
                             " --prefill-len 32 --calib-samples 8 --inject-outliers all"
                             " --smoothquant 0.5 --json -o " +
                             out);
  ASSERT_EQ(q.exit_code, 0) << q.output;
  const nlohmann::json j = nlohmann::json::parse(q.output);
  EXPECT_TRUE(j["float_ops"].empty()) << j["float_ops"].dump();
  EXPECT_FALSE(j["integer_ops"].contains("NEG")) << "NEG runs as MUL by -1 (integer_ops.h)";
  EXPECT_EQ(j["integer_ops"]["SELECT_V2"].get<int>(), 4);
  EXPECT_EQ(j["smoothquant_alpha"].get<double>(), 0.5);
  CommandResult r = RunLiteq("run " + out + " --prompt 'The jury said that the city' -n 8 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["ids"].size(), 8u);
}

}  // namespace
}  // namespace liteq::e2e
