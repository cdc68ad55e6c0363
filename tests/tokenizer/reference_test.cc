// The model references were made with Hugging Face: the eval/calib windows of
// reference.safetensors (BOS + ids + EOS per document of data/brown/*.jsonl,
// concatenated, cut into windows of 256), the prompt ids (BOS + tokens) and the decoded
// greedy continuations of reference.json. liteq must produce the same ids and text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/mapped_file.h"
#include "io/checkpoint.h"
#include "tokenizer/corpus.h"
#include "tokenizer/tokenizer.h"

namespace liteq::tokenizer {
namespace {

constexpr size_t kWindow = 256;

void CheckWindows(const char* model, const char* split, size_t expected_windows) {
  const std::string model_dir = std::string(LITEQ_MODELS_DIR) + "/" + model;
  auto tok = Tokenizer::Load(model_dir);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->bos_id(), 1);
  EXPECT_EQ((*tok)->eos_id(), 2);
  auto ref = io::Checkpoint::Open(model_dir + "/reference.safetensors");
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  const std::string key = std::string(split) + ".windows";
  auto expected = (*ref)->ReadInt32(key);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  ASSERT_EQ(expected->size(), expected_windows * kWindow);

  const std::string data = std::string(LITEQ_DATA_DIR) + "/brown/" + split + ".jsonl";
  auto windows = LoadCorpusWindows(**tok, data, kWindow, expected_windows);
  ASSERT_TRUE(windows.ok()) << windows.status().ToString();
  ASSERT_EQ(windows->size(), expected_windows);
  size_t mismatches = 0;
  for (size_t w = 0; w < expected_windows; ++w) {
    for (size_t t = 0; t < kWindow; ++t) {
      const int32_t want = (*expected)[w * kWindow + t];
      if ((*windows)[w][t] != want && mismatches++ < 5) {
        ADD_FAILURE() << split << " window " << w << " position " << t << ": got "
                      << (*windows)[w][t] << " want " << want;
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(CorpusWindowsTest, EvalWindowsMatchReference) { CheckWindows("gemma3-tiny", "eval", 64); }
TEST(CorpusWindowsTest, CalibWindowsMatchReference) { CheckWindows("gemma3-tiny", "calib", 32); }
TEST(CorpusWindowsTest, LlamaTinyEvalWindowsMatchReference) {
  CheckWindows("llama-tiny", "eval", 64);
}

TEST(ReferencePromptsTest, PromptIdsAndGreedyTextMatch) {
  for (const char* model : {"gemma3-tiny", "llama-tiny"}) {
    const std::string model_dir = std::string(LITEQ_MODELS_DIR) + "/" + model;
    auto tok = Tokenizer::Load(model_dir);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    auto ref = io::Checkpoint::Open(model_dir + "/reference.safetensors");
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    auto json_text = ReadFileToString(model_dir + "/reference.json");
    ASSERT_TRUE(json_text.ok());
    const auto prompts = nlohmann::json::parse(*json_text)["prompts"];
    ASSERT_GE(prompts.size(), 2u);
    for (size_t i = 0; i < prompts.size(); ++i) {
      const auto& p = prompts[i];
      const auto ids = (*tok)->Encode(p["text"].get<std::string>(), /*add_special=*/true);
      EXPECT_EQ(ids, p["ids"].get<std::vector<int32_t>>()) << model << " prompt " << i;
      auto stored = (*ref)->ReadInt32("prompt" + std::to_string(i) + ".ids");
      ASSERT_TRUE(stored.ok()) << stored.status().ToString();
      EXPECT_EQ(ids, *stored) << model << " prompt " << i;
      const auto greedy = p["greedy32"].get<std::vector<int32_t>>();
      EXPECT_EQ((*tok)->Decode(greedy, /*skip_special=*/true),
                p["greedy32_text"].get<std::string>())
          << model << " prompt " << i;
    }
  }
}

}  // namespace
}  // namespace liteq::tokenizer
