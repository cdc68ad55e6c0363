// llama2.c tokenizer (models/stories260K/tok512.bin): run.c's encode/decode rules and
// the reference greedy story.
#include <gtest/gtest.h>

#include <sstream>

#include "common/mapped_file.h"
#include "tokenizer/llama2c_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace liteq::tokenizer {
namespace {

std::unique_ptr<Tokenizer> LoadTok512() {
  auto tok = Tokenizer::Load(LITEQ_MODELS_DIR "/stories260K/tok512.bin");
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

struct GreedyReference {
  std::vector<int32_t> ids;
  std::string text;
};

GreedyReference ReadGreedyReference() {
  GreedyReference ref;
  auto file = ReadFileToString(LITEQ_MODELS_DIR "/stories260K/greedy_reference.txt");
  EXPECT_TRUE(file.ok());
  if (!file.ok()) return ref;
  const std::string& s = *file;
  const size_t ids_at = s.find("TOKEN_IDS:");
  const size_t text_at = s.find("TEXT:\n");
  EXPECT_NE(ids_at, std::string::npos);
  EXPECT_NE(text_at, std::string::npos);
  std::istringstream in(s.substr(ids_at + 10, s.find('\n', ids_at) - ids_at - 10));
  int32_t id;
  while (in >> id) ref.ids.push_back(id);
  ref.text = s.substr(text_at + 6);
  return ref;
}

TEST(Llama2cTokenizerTest, LoadsVocabularyAndSpecialPieces) {
  auto tok = LoadTok512();
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->IdToPiece(0), "<unk>");
  EXPECT_EQ(tok->IdToPiece(1), "\n<s>\n");
  EXPECT_EQ(tok->IdToPiece(2), "\n</s>\n");
  EXPECT_EQ(tok->IdToPiece(3 + 0x41), "<0x41>");
  EXPECT_EQ(tok->IdToPiece(259), " t");
}

TEST(Llama2cTokenizerTest, GreedyReferenceDecodesToItsText) {
  auto tok = LoadTok512();
  ASSERT_NE(tok, nullptr);
  const GreedyReference ref = ReadGreedyReference();
  ASSERT_EQ(ref.ids.size(), 200u);
  std::vector<int32_t> with_bos = {1};
  with_bos.insert(with_bos.end(), ref.ids.begin(), ref.ids.end());
  std::string decoded = tok->Decode(with_bos, /*skip_special=*/true);
  std::string expected = ref.text;
  while (!expected.empty() && expected.back() == '\n') expected.pop_back();
  EXPECT_EQ(decoded, expected);
  // Streaming the same ids prints the same text.
  StreamDecoder stream(*tok);
  std::string streamed;
  for (int32_t id : with_bos) streamed += stream.Push(id);
  streamed += stream.Flush();
  EXPECT_EQ(streamed, expected);
}

TEST(Llama2cTokenizerTest, EncodingTheGreedyStoryRoundTrips) {
  auto tok = LoadTok512();
  ASSERT_NE(tok, nullptr);
  const GreedyReference ref = ReadGreedyReference();
  std::string text = ref.text;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const auto ids = tok->Encode(text, /*add_special=*/true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(tok->Decode(ids, /*skip_special=*/true), text);
}

TEST(Llama2cTokenizerTest, EncodeFollowsRunC) {
  auto tok = LoadTok512();
  ASSERT_NE(tok, nullptr);
  EXPECT_TRUE(tok->Encode("").empty());
  EXPECT_EQ(tok->Encode("", /*add_special=*/true), std::vector<int32_t>{1});
  // The dummy prefix makes " Once" out of "Once" (id 403 starts the greedy story after
  // BOS, whose decoder strips that space).
  EXPECT_EQ(tok->Encode("Once"), std::vector<int32_t>{403});
  EXPECT_EQ(tok->IdToPiece(403), " Once");
  // Characters missing from the 512 vocabulary fall back to byte ids (byte + 3).
  const auto ids = tok->Encode("\xE4\xB8\xAD");  // U+4E2D
  ASSERT_FALSE(ids.empty());
  std::vector<int32_t> bytes(ids.begin() + 1, ids.end());
  EXPECT_EQ(bytes, (std::vector<int32_t>{0xE4 + 3, 0xB8 + 3, 0xAD + 3}));
  EXPECT_EQ(tok->Decode(ids), " \xE4\xB8\xAD");
}

// The merge loop must pick the pair with the best score over all adjacent pairs; a
// brute-force implementation of run.c's loop checks the priority-queue version.
std::vector<int32_t> RunCEncode(const Tokenizer& tok, const std::string& text) {
  std::vector<int32_t> ids;
  auto lookup = [&](const std::string& s) -> int32_t {
    const auto id = tok.PieceToId(s);
    return id ? *id : -1;
  };
  if (!text.empty()) ids.push_back(lookup(" "));
  for (size_t i = 0; i < text.size();) {
    size_t n = 1;
    while (i + n < text.size() && n < 4 && (static_cast<uint8_t>(text[i + n]) & 0xC0) == 0x80) {
      ++n;
    }
    const int32_t id = lookup(text.substr(i, n));
    if (id >= 0) {
      ids.push_back(id);
    } else {
      for (size_t k = 0; k < n; ++k) ids.push_back(static_cast<uint8_t>(text[i + k]) + 3);
    }
    i += n;
  }
  const auto& l2c = static_cast<const Llama2cTokenizer&>(tok);
  while (true) {
    float best = -1e10f;
    int best_id = -1, best_idx = -1;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      const int32_t id = lookup(tok.IdToPiece(ids[i]) + tok.IdToPiece(ids[i + 1]));
      if (id != -1 && l2c.score(id) > best) {
        best = l2c.score(id);
        best_id = id;
        best_idx = static_cast<int>(i);
      }
    }
    if (best_idx == -1) break;
    ids[best_idx] = best_id;
    ids.erase(ids.begin() + best_idx + 1);
  }
  return ids;
}

TEST(Llama2cTokenizerTest, MatchesBruteForceRunCLoop) {
  auto tok = LoadTok512();
  ASSERT_NE(tok, nullptr);
  for (const std::string text : {"Once upon a time, there was a little girl named Lily.",
                                 "aaaaaaaaaaaaaaaaaaaa", "  two  spaces\tand\nnewlines",
                                 "naïve café 日本語 🙂", "Tim and Lily went to the park"}) {
    EXPECT_EQ(tok->Encode(text), RunCEncode(*tok, text)) << text;
    EXPECT_EQ(tok->Decode(tok->Encode(text)), " " + text) << text;
  }
}

}  // namespace
}  // namespace liteq::tokenizer
