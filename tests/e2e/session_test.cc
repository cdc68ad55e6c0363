// Generation through the written .tflite: chunked prefill over several signatures,
// greedy continuations identical to transformers, and clear errors at the cache limit.
#include "generate/session.h"

#include <gtest/gtest.h>

#include "e2e_util.h"

namespace liteq::e2e {
namespace {

const model::ExportOptions kSmallChunks{.prefill_lengths = {4, 8}, .max_seq = 128};

TEST(SessionTest, ShapeIsReadFromTheSignatures) {
  LoadedModel m = LoadTflite(ExportOnce(ModelDir("gemma3-tiny"), kSmallChunks));
  const auto& shape = m.session->shape();
  EXPECT_EQ(shape.max_seq, 128);
  EXPECT_EQ(shape.vocab_size, 32000);
  ASSERT_EQ(shape.prefill.size(), 2u);
  EXPECT_EQ(shape.prefill[0].key, "prefill_4");
  EXPECT_EQ(shape.prefill[1].length, 8);
  EXPECT_TRUE(shape.has_decode);
}

class GreedyTest : public ::testing::TestWithParam<const char*> {};

// Prompts of 7-14 tokens go through 8-token and 4-token chunks (one padded) and
// decode steps; logits and the 32-token greedy continuation must match transformers.
TEST_P(GreedyTest, ChunkedPrefillAndGreedyMatchTransformers) {
  const std::string dir = ModelDir(GetParam());
  auto ref = OpenReference(dir);
  const int prompts = static_cast<int>(ReadReferenceJson(dir)["prompts"].size());
  LoadedModel m = LoadTflite(ExportOnce(dir, kSmallChunks));
  for (int p = 0; p < prompts; ++p) {
    const std::string prefix = "prompt" + std::to_string(p);
    std::vector<int32_t> ids = ReadInts(*ref, prefix + ".ids");
    m.session->Reset();
    ASSERT_TRUE(m.session->Feed(ids).ok());
    std::vector<float> expected = ReadFloats(*ref, prefix + ".last_logits");
    std::vector<float> actual(m.session->last_logits().begin(), m.session->last_logits().end());
    EXPECT_LT(MaxRelativeError(actual, expected), 1e-4) << prefix;

    m.session->Reset();
    auto out = generate::Generate(*m.session, ids, {.max_new_tokens = 32});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(*out, ReadInts(*ref, prefix + ".greedy32")) << prefix;
  }
}

INSTANTIATE_TEST_SUITE_P(TrainedModels, GreedyTest, ::testing::Values("gemma3-tiny", "llama-tiny"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) if (c == '-') c = '_';
                           return s;
                         });

TEST(SessionTest, ChunkingDoesNotChangeLogits) {
  // 40 tokens: one 64-token chunk vs five 8-token chunks vs one token at a time.
  std::vector<int32_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(100 + 37 * i);
  const std::string dir = ModelDir("llama-tiny");
  LoadedModel one = LoadTflite(ExportOnce(dir, {.prefill_lengths = {64}, .max_seq = 128}));
  LoadedModel chunks = LoadTflite(ExportOnce(dir, kSmallChunks));
  std::vector<float> a, b, c;
  ASSERT_TRUE(one.session->Feed(ids, &a).ok());
  ASSERT_TRUE(chunks.session->Feed(ids, &b).ok());
  chunks.session->Reset();
  for (int32_t id : ids) {
    const int32_t single[1] = {id};
    ASSERT_TRUE(chunks.session->Feed(single, &c).ok());
  }
  ASSERT_EQ(a.size(), 40u * 32000u);
  EXPECT_LT(MaxRelativeError(b, a), 1e-5);
  EXPECT_LT(MaxRelativeError(c, a), 1e-5);
}

TEST(SessionTest, ContextLimitIsAClearError) {
  LoadedModel m = LoadTflite(ExportOnce(ModelDir("llama-tiny"), kSmallChunks));
  std::vector<int32_t> prompt(100, 5);
  auto out = generate::Generate(*m.session, prompt, {.max_new_tokens = 40});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(out.status().message().find("max_seq is 128"), std::string::npos) << out.status().message();
  std::vector<int32_t> bad = {1, 32000};
  Status s = m.session->Feed(bad);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m.session->position(), 0);
}

}  // namespace
}  // namespace liteq::e2e
