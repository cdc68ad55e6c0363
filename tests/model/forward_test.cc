// Forward oracles: liteq's graph, run by liteq's runtime, against Hugging Face
// transformers outputs (fp32, eager attention) stored in reference.safetensors.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "model_runner.h"

namespace liteq::model::testing {
namespace {

constexpr double kLogitTolerance = 1e-4;  // max |diff| / max |reference|
constexpr double kHiddenTolerance = 1e-4;
constexpr double kDecodeTolerance = 1e-5;  // decode path vs prefill path

std::vector<int32_t> Ints(const io::Checkpoint& ref, const std::string& name) {
  Result<std::vector<int32_t>> v = ref.ReadInt32(name);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? v.value() : std::vector<int32_t>{};
}

std::vector<float> Floats(const io::Checkpoint& ref, const std::string& name) {
  Result<std::vector<float>> v = ref.ReadFloat32(name);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? v.value() : std::vector<float>{};
}

// Shown in the XML report (--gtest_output=xml) for the record.
void RecordError(const std::string& key, double err) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", err);
  ::testing::Test::RecordProperty(key, buf);
}

int CountPrompts(const io::Checkpoint& ref) {
  int n = 0;
  while (ref.Find("prompt" + std::to_string(n) + ".ids") != nullptr) ++n;
  return n;
}

// hidden_states [L+1, T, H]: [0] embedding output, [k] output of layer k-1, [L] the
// last layer's output after the final norm. Gemma 3n differs in two ways: its layers
// carry AltUp streams [N, T, H] of which the reference holds stream 0 (the leading
// T rows compared here), and its model is decorated with
// check_model_inputs(tie_last_hidden_states=False), so [L] is the last layer's raw
// output (stream 0), not the normed one.
void CheckHiddenStates(ModelRunner& runner, const io::Checkpoint& ref, const ModelConfig& cfg,
                       int t) {
  const int layers = cfg.num_layers;
  const bool last_is_raw = cfg.family == Family::kGemma3n;
  const std::vector<float> hs = Floats(ref, "prompt0.hidden_states");
  ASSERT_FALSE(hs.empty());
  const size_t per = hs.size() / (layers + 1);
  for (int k = 0; k <= layers; ++k) {
    const std::string name = k == 0 ? "embedding.output"
                             : k == layers && !last_is_raw
                                 ? "final_norm.output"
                                 : "layers." + std::to_string(k - 1) + ".output";
    Result<std::vector<float>> got = runner.PrefillTensorRows(name, t);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), per) << name;
    const double err = RelativeError(got->data(), hs.data() + k * per, per);
    EXPECT_LE(err, kHiddenTolerance) << name;
    RecordError(name + "_rel_err", err);
  }
}

// ---- The two trained models: last logits, argmax, hidden states, greedy32 ----

class TrainedModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TrainedModelTest, MatchesTransformers) {
  const std::string dir = std::string(LITEQ_MODELS_DIR) + "/" + GetParam();
  auto runner = ModelRunner::Create(dir, /*prefill_len=*/16, /*max_seq=*/64,
                                    /*preserve_all_tensors=*/true);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  auto ref = OpenReference(dir + "/reference.safetensors");
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  auto cfg = ReadModelConfig(*io::Checkpoint::Open(dir).value());
  ASSERT_TRUE(cfg.ok());
  const int v = (*runner)->vocab();
  const int prompts = CountPrompts(**ref);
  ASSERT_GE(prompts, 1);
  for (int i = 0; i < prompts; ++i) {
    SCOPED_TRACE("prompt " + std::to_string(i));
    const std::string p = "prompt" + std::to_string(i);
    const std::vector<int32_t> ids = Ints(**ref, p + ".ids");
    const int t = static_cast<int>(ids.size());
    (*runner)->Reset();
    Result<std::vector<float>> logits = (*runner)->Prefill(ids);
    ASSERT_TRUE(logits.ok()) << logits.status().ToString();
    const std::vector<float> last = Floats(**ref, p + ".last_logits");
    ASSERT_EQ(last.size(), static_cast<size_t>(v));
    const double err =
        RelativeError(logits->data() + static_cast<size_t>(t - 1) * v, last.data(), v);
    EXPECT_LE(err, kLogitTolerance);
    RecordError(p + "_last_logits_rel_err", err);
    const std::vector<int32_t> argmax = Ints(**ref, p + ".argmax");
    for (int pos = 0; pos < t; ++pos) {
      EXPECT_EQ(Argmax(logits->data() + static_cast<size_t>(pos) * v, v), argmax[pos])
          << "position " << pos;
    }
    if (i == 0) CheckHiddenStates(**runner, **ref, *cfg, t);
    Result<std::vector<int32_t>> greedy = (*runner)->Greedy(ids, 32);
    ASSERT_TRUE(greedy.ok()) << greedy.status().ToString();
    EXPECT_EQ(*greedy, Ints(**ref, p + ".greedy32"));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, TrainedModelTest, ::testing::Values("gemma3-tiny", "llama-tiny"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

// ---- The family fixtures: logits at every position, hidden states, greedy16 ----

class FamilyTest : public ::testing::TestWithParam<const char*> {};

TEST_P(FamilyTest, MatchesTransformers) {
  const std::string dir = std::string(LITEQ_TESTDATA_DIR) + "/families/" + GetParam();
  auto runner = ModelRunner::Create(dir, /*prefill_len=*/40, /*max_seq=*/64,
                                    /*preserve_all_tensors=*/true);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  auto ref = OpenReference(dir + "/reference.safetensors");
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  std::ifstream json_in(dir + "/reference.json");
  const nlohmann::json info = nlohmann::json::parse(json_in);
  auto cfg = ReadModelConfig(*io::Checkpoint::Open(dir).value());
  ASSERT_TRUE(cfg.ok());
  const int v = (*runner)->vocab();
  const int prompts = CountPrompts(**ref);
  ASSERT_EQ(prompts, 3);
  for (int i = 0; i < prompts; ++i) {
    SCOPED_TRACE("prompt " + std::to_string(i));
    const std::string p = "prompt" + std::to_string(i);
    const std::vector<int32_t> ids = Ints(**ref, p + ".ids");
    const int t = static_cast<int>(ids.size());
    (*runner)->Reset();
    Result<std::vector<float>> logits = (*runner)->Prefill(ids);
    ASSERT_TRUE(logits.ok()) << logits.status().ToString();
    const std::vector<float> want = Floats(**ref, p + ".logits");
    ASSERT_EQ(want.size(), static_cast<size_t>(t) * v);
    double worst = 0;
    for (int pos = 0; pos < t; ++pos) {
      const size_t off = static_cast<size_t>(pos) * v;
      const double err = RelativeError(logits->data() + off, want.data() + off, v);
      worst = std::max(worst, err);
      EXPECT_LE(err, kLogitTolerance) << "position " << pos;
    }
    RecordError(p + "_max_rel_err", worst);
    if (i == 0) CheckHiddenStates(**runner, **ref, *cfg, t);
    const double margin = info["prompts"][i]["min_top2_margin"].get<double>();
    if (margin > 1e-3) {
      Result<std::vector<int32_t>> greedy = (*runner)->Greedy(ids, 16);
      ASSERT_TRUE(greedy.ok()) << greedy.status().ToString();
      EXPECT_EQ(*greedy, Ints(**ref, p + ".greedy16"));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyTest,
                         ::testing::Values("qwen2", "qwen3", "mistral", "llama3", "gemma", "gemma2",
                                           "gemma3_text", "phi3", "stablelm", "phi", "falcon",
                                           "gemma3n_text"),
                         [](const auto& info) { return std::string(info.param); });

// ---- Decode path = prefill path ----

class DecodeMatchesPrefillTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DecodeMatchesPrefillTest, LogitsAgree) {
  const std::string name = GetParam();
  const bool trained = name == "gemma3-tiny" || name == "llama-tiny";
  const std::string dir = trained ? std::string(LITEQ_MODELS_DIR) + "/" + name
                                  : std::string(LITEQ_TESTDATA_DIR) + "/families/" + name;
  // The families' 40-token prompt crosses their 16-token sliding windows.
  const std::string key = "prompt2.ids";
  auto ref = OpenReference(dir + "/reference.safetensors");
  ASSERT_TRUE(ref.ok());
  const std::vector<int32_t> ids = Ints(**ref, key);
  const int t = static_cast<int>(ids.size());
  auto runner = ModelRunner::Create(dir, /*prefill_len=*/t, /*max_seq=*/64);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  const int v = (*runner)->vocab();

  (*runner)->Reset();
  Result<std::vector<float>> full = (*runner)->Prefill(ids);
  ASSERT_TRUE(full.ok()) << full.status().ToString();

  // One real token through prefill (the padding writes garbage rows 1..t-1 that
  // decode overwrites before any query can see them), then decode one at a time.
  (*runner)->Reset();
  Result<std::vector<float>> first = (*runner)->Prefill({ids[0]});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  double worst = RelativeError(first->data(), full->data(), v);
  EXPECT_LE(worst, kDecodeTolerance) << "position 0";
  for (int pos = 1; pos < t; ++pos) {
    Result<std::vector<float>> step = (*runner)->Decode(ids[pos], pos);
    ASSERT_TRUE(step.ok()) << step.status().ToString();
    const double err = RelativeError(step->data(), full->data() + static_cast<size_t>(pos) * v, v);
    EXPECT_LE(err, kDecodeTolerance) << "position " << pos;
    worst = std::max(worst, err);
  }
  RecordError("max_rel_err", worst);
}

INSTANTIATE_TEST_SUITE_P(Models, DecodeMatchesPrefillTest,
                         ::testing::Values("llama-tiny", "gemma3-tiny", "mistral", "gemma2", "phi",
                                           "gemma3n_text"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

// ---- llama2.c: stories260K builds and runs ----

TEST(Llama2cTest, Stories260KGreedyMatchesLlama2c) {
  const std::string dir = std::string(LITEQ_MODELS_DIR) + "/stories260K";
  auto runner = ModelRunner::Create(dir + "/stories260K.bin", /*prefill_len=*/8, /*max_seq=*/64);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  EXPECT_EQ((*runner)->vocab(), 512);
  // greedy_reference.txt: "TOKEN_IDS: ..." of llama2.c's greedy run from BOS.
  std::ifstream in(dir + "/greedy_reference.txt");
  std::string line;
  std::vector<int32_t> want;
  while (std::getline(in, line)) {
    if (line.rfind("TOKEN_IDS:", 0) != 0) continue;
    std::istringstream ids(line.substr(10));
    for (int32_t id; ids >> id && want.size() < 48;) want.push_back(id);
  }
  ASSERT_EQ(want.size(), 48u);
  Result<std::vector<int32_t>> greedy = (*runner)->Greedy({1}, 48);
  ASSERT_TRUE(greedy.ok()) << greedy.status().ToString();
  EXPECT_EQ(*greedy, want);
}

}  // namespace
}  // namespace liteq::model::testing
