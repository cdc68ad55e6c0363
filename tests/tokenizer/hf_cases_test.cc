// Every case of the Hugging Face reference files (ids and decoded text computed by the
// Rust tokenizers library) must be reproduced exactly.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/mapped_file.h"
#include "tokenizer/tokenizer.h"

namespace liteq::tokenizer {
namespace {

struct CaseFile {
  const char* name;
  const char* tokenizer_path;
  const char* cases_path;
};

const CaseFile kCaseFiles[] = {
    {"sentencepiece_bpe_32000", LITEQ_MODELS_DIR "/gemma3-tiny/tokenizer.json",
     LITEQ_TESTDATA_DIR "/tokenizer_cases.json"},
    {"llama3", LITEQ_TESTDATA_DIR "/tokenizers/llama3.tokenizer.json.gz",
     LITEQ_TESTDATA_DIR "/tokenizers/llama3.cases.json"},
    {"qwen3", LITEQ_TESTDATA_DIR "/tokenizers/qwen3.tokenizer.json.gz",
     LITEQ_TESTDATA_DIR "/tokenizers/qwen3.cases.json"},
};

class HfCasesTest : public ::testing::TestWithParam<CaseFile> {};

TEST_P(HfCasesTest, IdsAndDecodedTextMatchHuggingFace) {
  const CaseFile& f = GetParam();
  auto tok = Tokenizer::Load(f.tokenizer_path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto text = ReadFileToString(f.cases_path);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const auto cases = nlohmann::json::parse(*text);
  ASSERT_TRUE(cases.is_array());
  ASSERT_GT(cases.size(), 30u);
  int failures = 0;
  for (const auto& c : cases) {
    const std::string input = c["text"].get<std::string>();
    const std::vector<int32_t> expected = c["ids"].get<std::vector<int32_t>>();
    const std::string expected_text = c["decoded"].get<std::string>();
    const std::vector<int32_t> ids = (*tok)->Encode(input);
    EXPECT_EQ(ids, expected) << f.name << " encode " << nlohmann::json(input).dump();
    // Decoding the reference ids (not ours) checks the decoder on its own.
    const std::string decoded = (*tok)->Decode(expected);
    EXPECT_EQ(decoded, expected_text) << f.name << " decode " << nlohmann::json(input).dump();
    failures += (ids != expected) + (decoded != expected_text);
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(AllTokenizers, HfCasesTest, ::testing::ValuesIn(kCaseFiles),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace liteq::tokenizer
