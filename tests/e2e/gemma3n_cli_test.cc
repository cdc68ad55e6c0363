// The Gemma 3n options of the liteq binary: --matformer (export, quantize), --ple-dtype
// (quantize), eval on token-id data (the fixture has no tokenizer), and their errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "e2e_util.h"

namespace liteq::e2e {
namespace {

CommandResult RunLiteq(const std::string& args) {
  return RunShell(std::string(LITEQ_BINARY) + " " + args + " 2>&1");
}

const std::string kShape = " --max-seq 128 --prefill-len 32";

TEST(Gemma3nCliTest, MatformerExportRecordsTheLayoutAndEvalComparesWithTheFullModel) {
  const std::string fixture = FamilyDir("gemma3n_text");
  const std::string layout = TempPath("layout.json");
  std::ofstream(layout) << R"({"ffn_widths": 80, "skip_layers": [2]})";
  const std::string sub = TempPath("cli_g3n_sub.tflite"), full = TempPath("cli_g3n_full.tflite");
  CommandResult e =
      RunLiteq("export " + fixture + " --matformer " + layout + kShape + " -o " + sub + " --json");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  ASSERT_EQ(RunLiteq("export " + fixture + kShape + " -o " + full).exit_code, 0);
  EXPECT_LT(std::filesystem::file_size(sub), std::filesystem::file_size(full));
  CommandResult i = RunLiteq("inspect " + sub + " --json");
  ASSERT_EQ(i.exit_code, 0) << i.output;
  const nlohmann::json record = nlohmann::json::parse(i.output)["metadata"]["liteq.matformer"];
  EXPECT_EQ(record["kept_layers"], nlohmann::json({0, 1, 3}));
  // Token-id eval data: no tokenizer needed; the sub-model differs from the full one.
  CommandResult v =
      RunLiteq("eval " + sub + " --reference " + full + " --data " + FamilyDir("eval_ids.jsonl") +
               " --seq 64 --windows 2 --prompts 1 " + "--prompt-tokens 8 --gen 8 --json");
  ASSERT_EQ(v.exit_code, 0) << v.output;
  const nlohmann::json j = nlohmann::json::parse(v.output);
  EXPECT_EQ(j["windows"].get<int>(), 2);
  EXPECT_GT(j["kl_divergence"]["mean"]["value"].get<double>(), 1e-3);
  // The full model against itself: exactly zero.
  CommandResult self =
      RunLiteq("eval " + full + " --reference " + full + " --data " + FamilyDir("eval_ids.jsonl") +
               " --seq 64 --windows 2 --prompts 0 --json");
  ASSERT_EQ(self.exit_code, 0) << self.output;
  EXPECT_EQ(nlohmann::json::parse(self.output)["kl_divergence"]["mean"]["value"].get<double>(),
            0.0);
}

TEST(Gemma3nCliTest, PleDtypeIsRecordedAndItsErrorsAreClear) {
  const std::string fixture = FamilyDir("gemma3n_text");
  const std::string out = TempPath("cli_g3n_ple.tflite");
  CommandResult q = RunLiteq("quantize " + fixture + " --recipe weight_only_int8 --ple-dtype fp16" +
                             kShape + " -o " + out + " --json");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_EQ(nlohmann::json::parse(q.output)["ple_dtype"], "fp16");
  CommandResult i = RunLiteq("inspect " + out + " --json");
  ASSERT_EQ(i.exit_code, 0) << i.output;
  EXPECT_EQ(nlohmann::json::parse(i.output)["metadata"]["liteq.quantization"]["ple_dtype"], "fp16");

  CommandResult bad =
      RunLiteq("quantize " + fixture + " --recipe weight_only_int8 --ple-dtype int3" + kShape +
               " -o " + out);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("--ple-dtype must be float32, fp16 or int8"), std::string::npos);
  CommandResult other =
      RunLiteq("quantize " + FamilyDir("gemma3_text") +
               " --recipe weight_only_int8 --ple-dtype fp16" + kShape + " -o " + out);
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.output.find("has no per-layer embedding table"), std::string::npos);
  CommandResult strict =
      RunLiteq("quantize " + fixture + " --recipe static_int8_strict --calib " +
               FamilyDir("calib_ids.jsonl") + " --calib-samples 8" + kShape + " -o " + out);
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.output.find("static_int8_strict"), std::string::npos);
  CommandResult mf =
      RunLiteq("export " + FamilyDir("gemma3_text") + " --matformer half" + kShape + " -o " + out);
  EXPECT_EQ(mf.exit_code, 1);
  EXPECT_NE(mf.output.find("apply to gemma3n_text models"), std::string::npos);
  CommandResult skip = RunLiteq("export " + fixture + " --matformer '{\"skip_layers\": [1]}'" +
                                kShape + " -o " + out);
  EXPECT_EQ(skip.exit_code, 1);
  EXPECT_NE(skip.output.find("layer 3 reads the KV cache of layer 1, which is skipped"),
            std::string::npos);
}

}  // namespace
}  // namespace liteq::e2e
