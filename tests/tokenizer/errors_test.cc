// Malformed tokenizer files give errors that name the file and say what is wrong.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>
#include <string>

#include "common/mapped_file.h"
#include "temp_files.h"
#include "tokenizer/tokenizer.h"

namespace liteq::tokenizer {
namespace {

// A small but complete byte-fallback BPE tokenizer.json; `model` replaces the model.
std::string TinyTokenizerJson(const std::string& model) {
  return R"({"version": "1.0", "added_tokens": [
      {"id": 0, "content": "<unk>", "special": true, "normalized": false},
      {"id": 1, "content": "<s>", "special": true, "normalized": false}],
    "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
    "model": )" +
         model + "}";
}

const char* kGoodModel = R"({"type": "BPE", "unk_token": "<unk>",
    "vocab": {"<unk>": 0, "<s>": 1, "a": 2, "b": 3, "ab": 4},
    "merges": ["a b"]})";

void ExpectLoadError(const std::string& path, const std::string& what) {
  auto tok = Tokenizer::Load(path);
  ASSERT_FALSE(tok.ok()) << path;
  const std::string msg = tok.status().message();
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find(what), std::string::npos) << msg;
}

TEST(TokenizerErrorsTest, TinyValidTokenizerWorks) {
  const std::string path = WriteTemp("good.json", TinyTokenizerJson(kGoodModel));
  auto tok = Tokenizer::Load(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->Encode("abba"), (std::vector<int32_t>{4, 3, 2}));
  EXPECT_EQ((*tok)->Encode("<s>ab"), (std::vector<int32_t>{1, 4}));
  EXPECT_EQ((*tok)->Encode("xab"), (std::vector<int32_t>{0, 4}));  // unknown char -> <unk>
  EXPECT_EQ((*tok)->vocab_size(), 5);
}

TEST(TokenizerErrorsTest, BadJson) {
  ExpectLoadError(WriteTemp("bad.json", "{\"model\": {"), "not valid JSON");
}

TEST(TokenizerErrorsTest, MissingModel) {
  ExpectLoadError(WriteTemp("nomodel.json", R"({"version": "1.0", "added_tokens": []})"),
                  "missing object 'model'");
}

TEST(TokenizerErrorsTest, MergeWithUnknownToken) {
  const std::string model = R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2},
      "merges": ["a b", "a c"]})";
  ExpectLoadError(WriteTemp("badmerge.json", TinyTokenizerJson(model)), "token 'c'");
}

TEST(TokenizerErrorsTest, MergeWhoseResultIsNotInTheVocabulary) {
  const std::string model = R"({"type": "BPE", "vocab": {"a": 0, "b": 1},
      "merges": [["a", "b"]]})";
  ExpectLoadError(WriteTemp("badmerge2.json", TinyTokenizerJson(model)), "merged token 'ab'");
}

TEST(TokenizerErrorsTest, UnsupportedComponents) {
  ExpectLoadError(WriteTemp("unigram.json", TinyTokenizerJson(R"({"type": "Unigram"})")),
                  "Unigram");
  std::string json = TinyTokenizerJson(kGoodModel);
  json.replace(json.find("\"normalizer\": null"), 18, R"("normalizer": {"type": "Magic"})");
  ExpectLoadError(WriteTemp("magic.json", json), "Magic");
}

TEST(TokenizerErrorsTest, BadRegex) {
  std::string json = TinyTokenizerJson(kGoodModel);
  json.replace(json.find("\"pre_tokenizer\": null"), 21,
               R"("pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"},
                   "behavior": "Isolated", "invert": false})");
  ExpectLoadError(WriteTemp("regex.json", json), "invalid regex");
}

std::string Gzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(
      deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(TokenizerErrorsTest, GzipRoundTripAndTruncation) {
  const std::string gz = Gzip(TinyTokenizerJson(kGoodModel));
  const std::string good = WriteTemp("good.json.gz", gz);
  auto tok = Tokenizer::Load(good);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->Encode("ab"), std::vector<int32_t>{4});
  ExpectLoadError(WriteTemp("trunc.json.gz", gz.substr(0, gz.size() / 2)), "truncated gzip");
  std::string corrupt = gz;
  for (size_t i = 12; i < corrupt.size() - 8; ++i) corrupt[i] = static_cast<char>(0xFF);
  ExpectLoadError(WriteTemp("corrupt.json.gz", corrupt), "gzip");
}

TEST(TokenizerErrorsTest, TruncatedRealGzipTokenizer) {
  auto gz = ReadFileToString(LITEQ_TESTDATA_DIR "/tokenizers/qwen3.tokenizer.json.gz");
  ASSERT_TRUE(gz.ok());
  ExpectLoadError(WriteTemp("qwen3_trunc.json.gz", gz->substr(0, 100000)), "truncated gzip");
}

TEST(TokenizerErrorsTest, Llama2cTruncated) {
  auto bin = ReadFileToString(LITEQ_MODELS_DIR "/stories260K/tok512.bin");
  ASSERT_TRUE(bin.ok());
  ExpectLoadError(WriteTemp("tok_trunc.bin", bin->substr(0, bin->size() - 3)), "token 511");
  ExpectLoadError(WriteTemp("tok_empty.bin", ""), "max_token_length");
}

TEST(TokenizerErrorsTest, MissingPaths) {
  ExpectLoadError("/nonexistent/tokenizer.json", "no such file");
  auto tok = Tokenizer::Load(LITEQ_TESTDATA_DIR "/families");
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("no tokenizer.json"), std::string::npos);
}

}  // namespace
}  // namespace liteq::tokenizer
