// The liteq binary as a user runs it: export, run, eval, and clear errors (exit 1,
// message naming the file) for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/mapped_file.h"
#include "e2e_util.h"

namespace liteq::e2e {
namespace {

CommandResult RunLiteq(const std::string& args) {
  return RunShell(std::string(LITEQ_BINARY) + " " + args + " 2>&1");
}

TEST(CliTest, ExportThenRunGivesTheTransformersGreedyContinuation) {
  const std::string dir = ModelDir("gemma3-tiny");
  const std::string out = TempPath("cli_gemma.tflite");
  CommandResult e = RunLiteq("export " + dir + " -o " + out + " --max-seq 256 --prefill-len 32");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  CommandResult r = RunLiteq("run " + out + " --prompt 'The jury said that the city' -n 32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  auto ref = OpenReference(dir);
  EXPECT_EQ(j["prompt_ids"].get<std::vector<int32_t>>(), ReadInts(*ref, "prompt0.ids"));
  EXPECT_EQ(j["ids"].get<std::vector<int32_t>>(), ReadInts(*ref, "prompt0.greedy32"));
  EXPECT_EQ(j["text"].get<std::string>(),
            " " + ReadReferenceJson(dir)["prompts"][0]["greedy32_text"].get<std::string>());
}

TEST(CliTest, EvalPrintsPerplexity) {
  const std::string out = TempPath("cli_llama.tflite");
  ASSERT_EQ(RunLiteq("export " + ModelDir("llama-tiny") + " -o " + out + " --max-seq 256").exit_code, 0);
  CommandResult r = RunLiteq("eval " + out + " --windows 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["windows"].get<int>(), 2);
  const auto window_nll = j["window_nll"].get<std::vector<double>>();
  auto expected = ReadFloats(*OpenReference(ModelDir("llama-tiny")), "eval.nll_per_window");
  ASSERT_EQ(window_nll.size(), 2u);
  EXPECT_NEAR(window_nll[0], expected[0], 1e-4);
  EXPECT_NEAR(window_nll[1], expected[1], 1e-4);
}

TEST(CliTest, MissingModelIsAClearError) {
  CommandResult r = RunLiteq("run /nonexistent/model.tflite --prompt hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/model.tflite"), std::string::npos) << r.output;
}

TEST(CliTest, TruncatedModelIsRejectedWithItsName) {
  const std::string good = TempPath("cli_trunc_src.tflite");
  ASSERT_EQ(RunLiteq("export " + ModelDir("llama-tiny") + " -o " + good + " --max-seq 64").exit_code, 0);
  const std::string bad = TempPath("cli_truncated.tflite");
  std::filesystem::copy_file(good, bad, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(bad, std::filesystem::file_size(good) / 2);
  CommandResult r = RunLiteq("run " + bad + " --prompt hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cli_truncated.tflite"), std::string::npos) << r.output;
}

TEST(CliTest, FailedExportLeavesNoFile) {
  const std::string out = TempPath("cli_never_written.tflite");
  CommandResult r = RunLiteq("export /nonexistent/checkpoint -o " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(out));
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(out).parent_path())) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST(CliTest, PromptTooLongForTheCacheIsAClearError) {
  const std::string out = TempPath("cli_small_cache.tflite");
  ASSERT_EQ(RunLiteq("export " + ModelDir("llama-tiny") + " -o " + out + " --max-seq 16 --prefill-len 8").exit_code, 0);
  CommandResult r = RunLiteq("run " + out + " --prompt 'The jury said that the city' -n 20");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("max_seq is 16"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace liteq::e2e

namespace liteq::e2e {
namespace {

// stories260K (a real pretrained llama2.c model): 200 greedy tokens from BOS, ids and
// text identical to llama2.c's output, for both checkpoint formats.
TEST(CliTest, Stories260KGreedyMatchesLlama2c) {
  const StoriesGreedyReference ref = ReadStoriesGreedyReference();
  const std::vector<int32_t>& expected_ids = ref.ids;
  const std::string& expected_text = ref.text;
  ASSERT_EQ(expected_ids.size(), 200u);

  for (const char* file_name : {"stories260K.bin", "stories260K_v1.bin"}) {
    const std::string out = TempPath(std::string(file_name) + ".tflite");
    CommandResult e = RunLiteq("export " + ModelDir("stories260K") + "/" + file_name + " -o " + out +
                               " --max-seq 512 --prefill-len 32");
    ASSERT_EQ(e.exit_code, 0) << e.output;
    CommandResult r = RunLiteq("run " + out + " --prompt '' -n 200 --json");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const nlohmann::json j = nlohmann::json::parse(r.output);
    EXPECT_EQ(j["prompt_ids"].get<std::vector<int32_t>>(), std::vector<int32_t>{1}) << file_name;
    EXPECT_EQ(j["ids"].get<std::vector<int32_t>>(), expected_ids) << file_name;
    EXPECT_EQ(j["text"].get<std::string>(), expected_text) << file_name;
  }
}

// `liteq quantize` + `liteq run` on stories260K (a real llama2.c model): the int8 model
// generates 200 greedy tokens that start like the float model's (= llama2.c's). The
// issue asks for all 200 identical; int8 weights part from the float path at token 61
// (float top-2 margin 0.071 there, see weight_only_test), so the full-length identity
// is reported, and the shared prefix is asserted; keeping the embedding table float
// (a recipe-file rule) gives all 200.
TEST(CliTest, Stories260KWeightOnlyInt8GreedyAgainstFloat) {
  const StoriesGreedyReference ref = ReadStoriesGreedyReference();
  const std::vector<int32_t>& expected_ids = ref.ids;
  const std::string& expected_text = ref.text;
  ASSERT_EQ(expected_ids.size(), 200u);

  for (const char* granularity : {"channel", "tensor"}) {
    const std::string out = TempPath(std::string("stories260K.w8.") + granularity + ".tflite");
    CommandResult q = RunLiteq("quantize " + ModelDir("stories260K") +
                               "/stories260K.bin --recipe weight_only_int8 --granularity " +
                               granularity + " -o " + out + " --max-seq 512 --prefill-len 32 --json");
    ASSERT_EQ(q.exit_code, 0) << q.output;
    const nlohmann::json qj = nlohmann::json::parse(q.output);
    EXPECT_EQ(qj["recipe"], "weight_only_int8");
    EXPECT_GT(qj["quantized_buffers"].get<int>(), 0);
    CommandResult r = RunLiteq("run " + out + " --prompt '' -n 200 --json");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const nlohmann::json j = nlohmann::json::parse(r.output);
    const auto ids = j["ids"].get<std::vector<int32_t>>();
    ASSERT_EQ(ids.size(), expected_ids.size());
    size_t same = 0;
    while (same < ids.size() && ids[same] == expected_ids[same]) ++same;
    std::printf("[ stories260K ] weight_only_int8 per-%s via the CLI: %zu of 200 greedy tokens "
                "identical to the float output%s\n",
                granularity, same, j["text"].get<std::string>() == expected_text ? " (text too)" : "");
    EXPECT_GE(same, 32u);
  }

  // The flip comes from the int8 embedding table (tied to the output head: 12.6% of the
  // model's weights): a recipe file that keeps just that table float reproduces all 200
  // tokens, every other weight int8 per channel.
  const std::string recipe = TempPath("stories260K.w8.float_embedding.json");
  std::ofstream(recipe) << R"({"recipe": "weight_only_int8",
                              "rules": [{"tensors": "embed_tokens", "precision": "float"}]})";
  const std::string out = TempPath("stories260K.w8.float_embedding.tflite");
  CommandResult q = RunLiteq("quantize " + ModelDir("stories260K") + "/stories260K.bin --recipe-file " +
                             recipe + " -o " + out + " --max-seq 512 --prefill-len 32 --json");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_GT(nlohmann::json::parse(q.output)["quantized_buffers"].get<int>(), 0);
  CommandResult r = RunLiteq("run " + out + " --prompt '' -n 200 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["ids"].get<std::vector<int32_t>>(), expected_ids);
  EXPECT_EQ(j["text"].get<std::string>(), expected_text);
}

TEST(CliTest, QuantizeUnknownRecipeListsSupportedOnes) {
  CommandResult r = RunLiteq("quantize " + ModelDir("stories260K") +
                             "/stories260K.bin --recipe int3 -o " + TempPath("never.tflite"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("unknown quantization recipe 'int3'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("weight_only_int8"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(TempPath("never.tflite")));
}

}  // namespace
}  // namespace liteq::e2e
