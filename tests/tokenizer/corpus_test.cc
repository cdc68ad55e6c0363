#include "tokenizer/corpus.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "common/mapped_file.h"
#include "temp_files.h"
#include "tokenizer/tokenizer.h"

namespace liteq::tokenizer {
namespace {

TEST(CorpusTest, MakeWindowsDropsTheRemainderAndHonoursTheCap) {
  const std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6, 7};
  const auto w = MakeWindows(ids, 3);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0], (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(w[1], (std::vector<int32_t>{4, 5, 6}));
  EXPECT_EQ(MakeWindows(ids, 3, 1).size(), 1u);
  EXPECT_TRUE(MakeWindows(ids, 8).empty());
}

TEST(CorpusTest, DocumentsAreWrappedInBosAndEos) {
  auto tok = Tokenizer::Load(LITEQ_MODELS_DIR "/gemma3-tiny");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const auto ids = TokenizeDocuments(**tok, {"Hello world", "Hello world"}, 1, 2);
  // "Hello world" is [22557, 1526] in the Hugging Face reference cases.
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 22557, 1526, 2, 1, 22557, 1526, 2}));
}

TEST(CorpusTest, JsonlErrorsNameFileAndLine) {
  const std::string path = WriteTemp("bad.jsonl", "{\"text\": \"a\"}\n\n{\"txt\": 1}\n");
  auto texts = ReadJsonlTexts(path);
  ASSERT_FALSE(texts.ok());
  EXPECT_NE(texts.status().message().find(path + ":3"), std::string::npos)
      << texts.status().message();
  const std::string bad_json = WriteTemp("bad2.jsonl", "{\"text\": \"a\"\n");
  auto texts2 = ReadJsonlTexts(bad_json);
  ASSERT_FALSE(texts2.ok());
  EXPECT_NE(texts2.status().message().find(bad_json + ":1"), std::string::npos);
}

TEST(CorpusTest, EvalSplitThroughput) {
  auto tok = Tokenizer::Load(LITEQ_MODELS_DIR "/gemma3-tiny");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::string path = LITEQ_DATA_DIR "/brown/eval.jsonl";
  auto texts = ReadJsonlTexts(path);
  ASSERT_TRUE(texts.ok()) << texts.status().ToString();
  ASSERT_EQ(texts->size(), 41u);
  size_t bytes = 0;
  for (const auto& t : *texts) bytes += t.size();
  // The first pass fills the word cache; report it (cold) and a second pass (warm).
  for (const char* pass : {"cold", "warm"}) {
    const auto start = std::chrono::steady_clock::now();
    const auto ids = TokenizeDocuments(**tok, *texts, 1, 2);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("eval.jsonl (%s): %zu tokens, %zu bytes in %.3f s: %.0f tokens/s, %.1f MB/s\n",
                pass, ids.size(), bytes, s, ids.size() / s, bytes / s / 1e6);
    EXPECT_GT(ids.size(), 64u * 256u);
  }
}

}  // namespace
}  // namespace liteq::tokenizer
