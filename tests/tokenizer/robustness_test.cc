// Random input must never crash (CI runs this under ASan/UBSan), and decode(encode(x))
// must give back x where the tokenizer is lossless.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace liteq::tokenizer {
namespace {

std::string RandomUtf8(std::mt19937& rng, size_t max_chars) {
  static const char32_t kPool[] = {' ',    ' ',    '\n',    '\t',   'a',     'e',
                                   'Z',    '0',    '.',     '\'',   0xA0,    0xE9,
                                   0x2581, 0x65E5, 0x1F642, 0x200B, 0x1D522, 0x85};
  std::uniform_int_distribution<size_t> len(0, max_chars);
  std::uniform_int_distribution<int> kind(0, 3);
  std::string s;
  const size_t n = len(rng);
  for (size_t i = 0; i < n; ++i) {
    if (kind(rng) == 0) {
      AppendUtf8(s, std::uniform_int_distribution<char32_t>(0x20, 0x2FFF)(rng));
    } else {
      AppendUtf8(s, kPool[std::uniform_int_distribution<size_t>(0, std::size(kPool) - 1)(rng)]);
    }
  }
  return s;
}

std::string RandomBytes(std::mt19937& rng, size_t max_len) {
  std::string s(std::uniform_int_distribution<size_t>(0, max_len)(rng), '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string MetaspaceToSpace(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 3, "\u2581") == 0) {
      out.push_back(' ');
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// `metaspace`: "▁" in the text decodes to a space (SentencePiece-style decoders), as the
// Hugging Face case "▁already▁has▁metaspace" shows.
void Exercise(const char* path, bool lossless, bool metaspace = false) {
  auto tok = Tokenizer::Load(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  std::mt19937 rng(1234);
  for (int i = 0; i < 200; ++i) {
    std::string text = RandomUtf8(rng, 40);
    // Surrogates from the random range are not valid scalar values for AppendUtf8 users;
    // make the text valid the way Encode does.
    text = ToValidUtf8Lossy(text);
    const auto ids = (*tok)->Encode(text);
    for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < (*tok)->vocab_size()) << path;
    if (lossless) {
      auto normalized = Normalize(text, NormalForm::kNfc);
      ASSERT_TRUE(normalized.ok());
      const std::string back = (*tok)->Decode(ids);
      const std::string expected = metaspace ? MetaspaceToSpace(text) : text;
      EXPECT_TRUE(back == expected || back == *normalized) << path << " text " << text;
    }
    const std::string garbage = RandomBytes(rng, 64);
    const auto garbage_ids = (*tok)->Encode(garbage, true);
    EXPECT_TRUE(IsValidUtf8((*tok)->Decode(garbage_ids)));
    std::vector<int32_t> random_ids(16);
    for (int32_t& id : random_ids) {
      id = std::uniform_int_distribution<int32_t>(-5, (*tok)->vocab_size() + 5)(rng);
    }
    EXPECT_TRUE(IsValidUtf8((*tok)->Decode(random_ids)));
    StreamDecoder stream(**tok);
    for (int32_t id : random_ids) EXPECT_TRUE(IsValidUtf8(stream.Push(id)));
    EXPECT_TRUE(IsValidUtf8(stream.Flush()));
  }
}

TEST(RobustnessTest, SentencePieceBpe) {
  Exercise(LITEQ_MODELS_DIR "/gemma3-tiny/tokenizer.json", /*lossless=*/true,
           /*metaspace=*/true);
}
TEST(RobustnessTest, Llama3) {
  Exercise(LITEQ_TESTDATA_DIR "/tokenizers/llama3.tokenizer.json.gz", /*lossless=*/true);
}
TEST(RobustnessTest, Qwen3) {
  Exercise(LITEQ_TESTDATA_DIR "/tokenizers/qwen3.tokenizer.json.gz", /*lossless=*/true);
}
TEST(RobustnessTest, Llama2c) {
  Exercise(LITEQ_MODELS_DIR "/stories260K/tok512.bin", /*lossless=*/false);
}

}  // namespace
}  // namespace liteq::tokenizer
