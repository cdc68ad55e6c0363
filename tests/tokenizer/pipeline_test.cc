// Behaviour of individual pipeline pieces that the reference case files do not reach:
// added-token options, Split behaviours, Metaspace, streaming decode.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "tokenizer/byte_level.h"
#include "temp_files.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace liteq::tokenizer {
namespace {

std::unique_ptr<Tokenizer> LoadJson(const std::string& name, const std::string& json) {
  const std::string path = WriteTemp(name, json);
  auto tok = Tokenizer::Load(path);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

// Character-level vocabulary a..e, space, "▁", plus added tokens.
std::string CharTokenizer(const std::string& added, const std::string& normalizer,
                          const std::string& pre_tokenizer, const std::string& decoder) {
  return R"({"added_tokens": )" + added + R"(, "normalizer": )" + normalizer +
         R"(, "pre_tokenizer": )" + pre_tokenizer + R"(, "decoder": )" + decoder + R"(,
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "</s>", "type_id": 0}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [1]}, "</s>": {"id": "</s>", "ids": [2]}}},
    "model": {"type": "BPE", "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "a": 3, "b": 4,
      "c": 5, "d": 6, "e": 7, " ": 8, "\u2581": 9, "ab": 10, "\u2581a": 11, "<0x41>": 12},
      "merges": ["a b", "\u2581 a"], "unk_token": "<unk>", "fuse_unk": true,
      "byte_fallback": true}})";
}

const char* kSpecials = R"([{"id": 1, "content": "<s>", "special": true, "normalized": false},
                            {"id": 2, "content": "</s>", "special": true, "normalized": false}])";

TEST(PipelineTest, PostProcessorOnlyWhenAsked) {
  auto tok = LoadJson("pp.json", CharTokenizer(kSpecials, "null", "null", "null"));
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->Encode("ab"), std::vector<int32_t>{10});
  EXPECT_EQ(tok->Encode("ab", true), (std::vector<int32_t>{1, 10, 2}));
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  // Byte fallback ("A" = <0x41>), fused unknowns ("xy" -> one <unk>).
  EXPECT_EQ(tok->Encode("Axyab"), (std::vector<int32_t>{12, 0, 10}));
  // No decoder: tokens joined by spaces; special tokens skipped on request.
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{1, 10, 5}), "<s> ab c");
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{1, 10, 5}, true), "ab c");
}

TEST(PipelineTest, AddedTokenStripAndSingleWord) {
  const std::string added = R"([
      {"id": 1, "content": "<s>", "special": true, "normalized": false},
      {"id": 13, "content": "[M]", "special": true, "normalized": false, "lstrip": true, "rstrip": true},
      {"id": 14, "content": "cd", "special": false, "normalized": false, "single_word": true}])";
  auto tok = LoadJson("strip.json", CharTokenizer(added, "null", "null", "null"));
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->Encode("a  [M]  b"), (std::vector<int32_t>{3, 13, 4}));
  EXPECT_EQ(tok->Encode("a cd b"), (std::vector<int32_t>{3, 8, 14, 8, 4}));
  EXPECT_EQ(tok->Encode("acd"), (std::vector<int32_t>{3, 5, 6}));  // not a single word
  // Leftmost-longest: "<s>" wins over nothing else; specials are matched in raw text.
  EXPECT_EQ(tok->Encode("a<s>b"), (std::vector<int32_t>{3, 1, 4}));
}

TEST(PipelineTest, MetaspaceFirstPrependsOnlyAtTheStartOfTheInput) {
  const std::string meta =
      R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": true})";
  auto tok = LoadJson("meta.json", CharTokenizer(kSpecials, "null", meta, meta));
  ASSERT_NE(tok, nullptr);
  // "a a" -> "▁a▁a" split before each ▁ -> ["▁a", "▁a"].
  EXPECT_EQ(tok->Encode("a a"), (std::vector<int32_t>{11, 11}));
  // After an added token the piece is not at the start of the input: no prefix.
  EXPECT_EQ(tok->Encode("<s>a a"), (std::vector<int32_t>{1, 3, 11}));
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{11, 11}), "a a");
}

TEST(PipelineTest, SplitBehaviours) {
  auto encode = [](const std::string& behavior, bool invert, const std::string& text) {
    const std::string pre = R"({"type": "Split", "pattern": {"String": "b"}, "behavior": ")" +
                            behavior + R"(", "invert": )" + (invert ? "true" : "false") + "}";
    auto tok =
        LoadJson("split_" + behavior + ".json", CharTokenizer(kSpecials, "null", pre, "null"));
    return tok ? tok->Encode(text) : std::vector<int32_t>{};
  };
  // "abab": with Isolated the "b"s are separate words, so "ab" never merges.
  EXPECT_EQ(encode("Isolated", false, "abab"), (std::vector<int32_t>{3, 4, 3, 4}));
  EXPECT_EQ(encode("Removed", false, "abab"), (std::vector<int32_t>{3, 3}));
  EXPECT_EQ(encode("MergedWithPrevious", false, "abab"), (std::vector<int32_t>{10, 10}));
  EXPECT_EQ(encode("MergedWithNext", false, "abab"), (std::vector<int32_t>{3, 4, 3, 4}));
  EXPECT_EQ(encode("Contiguous", false, "abba"), (std::vector<int32_t>{3, 4, 4, 3}));
  EXPECT_EQ(encode("Removed", true, "abab"), (std::vector<int32_t>{4, 4}));
}

TEST(PipelineTest, ByteLevelAlphabetIsGpt2s) {
  std::string s;
  AppendBytesAsByteLevel(std::string("\x20\x0A!\xFF\x00", 5), s);
  EXPECT_EQ(s, "\u0120\u010A!\u00FF\u0100");
  for (int b = 0; b < 256; ++b) {
    std::string one;
    AppendBytesAsByteLevel(std::string(1, static_cast<char>(b)), one);
    size_t pos = 0;
    const auto back = ByteLevelCharToByte(DecodeUtf8At(one, pos));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, b);
  }
}

TEST(PipelineTest, LossyUtf8FollowsRust) {
  EXPECT_EQ(ToValidUtf8Lossy("a\xF0\x9F\x99z"), "a\uFFFDz");          // truncated 4-byte
  EXPECT_EQ(ToValidUtf8Lossy("\x80\x80"), "\uFFFD\uFFFD");            // lone continuations
  EXPECT_EQ(ToValidUtf8Lossy("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");  // surrogate
  EXPECT_EQ(ToValidUtf8Lossy("\xE2\x82\xAC"), "\u20AC");
}

TEST(PipelineTest, StreamingEqualsFullDecodeForByteFallback) {
  auto tok = Tokenizer::Load(LITEQ_MODELS_DIR "/gemma3-tiny/tokenizer.json");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::string text = "Hello 日本語 🙂 and ℌ𝔢𝔩𝔩𝔬, world!\n  indented";
  std::vector<int32_t> ids = {1};
  const auto body = (*tok)->Encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  StreamDecoder stream(**tok);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string piece = stream.Push(id);
    EXPECT_TRUE(IsValidUtf8(piece));
    EXPECT_FALSE(EndsWithReplacementChar(piece));
    streamed += piece;
  }
  streamed += stream.Flush();
  EXPECT_EQ(streamed, text);
  EXPECT_EQ((*tok)->Decode(ids, /*skip_special=*/true), text);
}

TEST(PipelineTest, StreamingByteLevel) {
  auto tok = Tokenizer::Load(LITEQ_TESTDATA_DIR "/tokenizers/qwen3.tokenizer.json.gz");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::string text = "emoji 🙂 and 🚀! 한국어 텍스트입니다<|im_end|>";
  const auto ids = (*tok)->Encode(text);
  StreamDecoder stream(**tok, /*skip_special=*/false);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.Push(id);
  streamed += stream.Flush();
  EXPECT_EQ(streamed, text);
  EXPECT_EQ((*tok)->Decode(ids, /*skip_special=*/true),
            "emoji 🙂 and 🚀! 한국어 텍스트입니다");
}

}  // namespace
}  // namespace liteq::tokenizer
