// Every recipe on the gemma3n_text fixture (AltUp, per-layer embeddings, LAuReL, KV
// sharing): the quantized file runs in liteq (prefill + decode) and in the official
// LiteRT runtime, with liteq's logits agreeing with LiteRT's within the bounds
// recipes_litert_test uses per recipe. Static recipes are calibrated on
// testdata/families/calib_ids.jsonl (token ids: the fixture has no tokenizer); the
// windows compared come from testdata/families/eval_ids.jsonl. The int8 KV cache
// (liteq only: LiteRT's JS API refuses int8 signature tensors) must give the same
// logits as the float cache, KV-shared layers reading it included.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "e2e_util.h"
#include "litert_runner.h"
#include "quant/calibration.h"
#include "tflite/reader.h"

namespace liteq::e2e {
namespace {

using nlohmann::json;

constexpr int kPrefill = 32;
const model::ExportOptions kExport{.prefill_lengths = {kPrefill}, .max_seq = 128};

struct RecipeCase {
  const char* name;
  quant::RecipeOptions options;
  // liteq vs LiteRT agreement (recipes_litert_test: the bar, or the XNNPACK
  // int8 bounds for recipes whose int8 ops LiteRT runs through XNNPACK).
  double min_top1 = 0.995;
  double max_kl = 1e-3;
};

constexpr char kPle[] = "model.embed_tokens_per_layer.weight";  // model::kPerLayerEmbeddingTensor
constexpr double kXnnpackInt8MinTop1 = 0.95;
constexpr double kXnnpackInt8MaxKl = 1e-2;

std::vector<RecipeCase> Cases() {
  return {
      {"weight_only_int8", {.recipe = quant::Recipe::kWeightOnlyInt8}},
      {"weight_only_int4_b32", {.recipe = quant::Recipe::kWeightOnlyInt4, .block_size = 32}},
      {"dynamic_int8",
       {.recipe = quant::Recipe::kDynamicInt8},
       kXnnpackInt8MinTop1,
       kXnnpackInt8MaxKl},
      {"static_int8",
       {.recipe = quant::Recipe::kStaticInt8},
       kXnnpackInt8MinTop1,
       kXnnpackInt8MaxKl},
      {"static_16x8", {.recipe = quant::Recipe::kStatic16x8}},
      // --ple-dtype: the per-layer embedding table in float16 (+ DEQUANTIZE) / float32.
      {"weight_only_int8_ple_fp16",
       {.recipe = quant::Recipe::kWeightOnlyInt8, .float16_weights = {kPle}}},
      {"static_int8_ple_float32",
       {.recipe = quant::Recipe::kStaticInt8, .float_weights = {kPle}},
       kXnnpackInt8MinTop1,
       kXnnpackInt8MaxKl},
  };
}

std::string Fixture() { return FamilyDir("gemma3n_text"); }

// Activation ranges of the float fixture, calibrated on token ids (one per bit width).
const quant::ActivationRanges& Ranges(int bits) {
  static std::map<int, quant::ActivationRanges> cache;
  if (auto it = cache.find(bits); it != cache.end()) return it->second;
  auto opened = io::Checkpoint::Open(Fixture());
  LITEQ_CHECK(opened.ok());
  auto model = model::BuildModel(std::move(opened).value(), kExport);
  LITEQ_CHECK(model.ok());
  auto samples = quant::LoadCalibrationSamples(FamilyDir("calib_ids.jsonl"), nullptr,
                                               kTestCalibrationSamples, kPrefill, 16);
  LITEQ_CHECK(samples.ok());
  auto stats = quant::Calibrate(std::make_shared<const graph::Model>(*model), *samples, {});
  LITEQ_CHECK(stats.ok());
  quant::ObserverOptions observer;
  observer.bits = bits;
  auto ranges = quant::ComputeActivationRanges(*stats, quant::ObserverKind::kMinMax, observer);
  LITEQ_CHECK(ranges.ok());
  return cache[bits] = std::move(ranges).value();
}

std::string Quantized(quant::RecipeOptions options) {
  if (quant::NeedsCalibration(options.recipe)) {
    options.ranges = &Ranges(options.recipe == quant::Recipe::kStatic16x8 ? 16 : 8);
  }
  return ExportQuantizedOnce(Fixture(), kExport, options);
}

// Windows of 64 ids of testdata/families/eval_ids.jsonl (two prefill chunks each).
std::vector<std::vector<int32_t>> EvalWindows(size_t count) {
  std::ifstream in(FamilyDir("eval_ids.jsonl"));
  std::vector<int32_t> ids;
  for (std::string line; std::getline(in, line);) {
    const json doc = json::parse(line);
    for (const json& id : doc.at("ids")) ids.push_back(id.get<int32_t>());
  }
  std::vector<std::vector<int32_t>> windows;
  for (size_t w = 0; w < count && (w + 1) * 64 <= ids.size(); ++w) {
    windows.emplace_back(ids.begin() + w * 64, ids.begin() + (w + 1) * 64);
  }
  return windows;
}

// Top-1 agreement counts the positions where liteq's best logit leads the runner-up by
// more than kTop1Margin: the fixture's random weights give nearly flat logits, and in
// the int8 recipes the logits are multiples of one output step (about 0.22 here), so
// many positions are exact or near ties whose argmax a one-step XNNPACK rounding
// difference flips. KL covers every position.
constexpr double kTop1Margin = 0.25;

struct Agreement {
  int64_t positions = 0, decided = 0, same_top1 = 0, same_top1_all = 0;
  double kl_sum = 0;
  void Add(std::span<const float> litert, std::span<const float> liteq, size_t vocab) {
    for (size_t t = 0; t * vocab < litert.size(); ++t) {
      auto a = litert.subspan(t * vocab, vocab), b = liteq.subspan(t * vocab, vocab);
      const auto la = LogSoftmax(a), lb = LogSoftmax(b);
      double kl = 0;
      for (size_t v = 0; v < vocab; ++v) kl += std::exp(la[v]) * (la[v] - lb[v]);
      kl_sum += kl;
      ++positions;
      const auto best = static_cast<size_t>(std::max_element(b.begin(), b.end()) - b.begin());
      const bool same =
          static_cast<size_t>(std::max_element(a.begin(), a.end()) - a.begin()) == best;
      same_top1_all += same;
      float second = -INFINITY;
      for (size_t v = 0; v < vocab; ++v) {
        if (v != best) second = std::max(second, b[v]);
      }
      if (b[best] - second <= kTop1Margin) continue;
      ++decided;
      same_top1 += same;
    }
  }
};

// A 10-token prompt (padded to the prefill length), then 3 greedy decode steps, in
// liteq and in LiteRT with the caches carried between calls.
void ComparePrefillAndDecode(const std::string& path, Agreement* agreement) {
  LoadedModel m = LoadTflite(path);
  const int vocab = m.session->shape().vocab_size;
  std::vector<int32_t> prompt;
  for (int i = 0; i < 10; ++i) prompt.push_back(3 + (i * 97) % (vocab - 3));
  std::vector<float> liteq_prefill;
  ASSERT_TRUE(m.session->Feed(prompt, &liteq_prefill).ok());
  std::vector<int32_t> decode_tokens;
  std::vector<std::vector<float>> liteq_decode;
  for (int step = 0; step < 3; ++step) {
    auto last = m.session->last_logits();
    decode_tokens.push_back(
        static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin()));
    const int32_t one[1] = {decode_tokens.back()};
    ASSERT_TRUE(m.session->Feed(one).ok());
    liteq_decode.emplace_back(m.session->last_logits().begin(), m.session->last_logits().end());
  }
  std::vector<int32_t> tokens(prompt), positions;
  tokens.resize(kPrefill, 0);
  for (int i = 0; i < kPrefill; ++i) positions.push_back(i);
  conformance::LiteRtStep prefill{
      "prefill",
      {conformance::MakeInt32Tensor("tokens", {1, kPrefill}, tokens),
       conformance::MakeInt32Tensor("input_pos", {kPrefill}, positions)}};
  for (const auto& name : m.interpreter->StateNames()) {
    auto state = m.interpreter->State(name);
    ASSERT_TRUE(state.ok());
    prefill.inputs.push_back(conformance::MakeFloat32Tensor(
        name, std::vector<int>(state->shape.begin(), state->shape.end()),
        std::vector<float>(state->bytes / sizeof(float), 0.0f)));
  }
  std::vector<conformance::LiteRtStep> steps = {prefill};
  for (int step = 0; step < 3; ++step) {
    steps.push_back({"decode",
                     {conformance::MakeInt32Tensor("tokens", {1, 1}, {decode_tokens[step]}),
                      conformance::MakeInt32Tensor("input_pos", {1}, {10 + step})}});
  }
  auto outputs = conformance::RunInLiteRt(path, steps);
  ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
  ASSERT_EQ(outputs->size(), 4u);
  const auto* logits = conformance::FindTensor((*outputs)[0], "logits");
  ASSERT_NE(logits, nullptr);
  std::vector<float> litert_prefill = conformance::Float32Values(*logits);
  litert_prefill.resize(prompt.size() * vocab);  // padded positions are not compared
  agreement->Add(litert_prefill, liteq_prefill, vocab);
  for (int step = 0; step < 3; ++step) {
    const auto* l = conformance::FindTensor((*outputs)[step + 1], "logits");
    ASSERT_NE(l, nullptr);
    agreement->Add(conformance::Float32Values(*l), liteq_decode[step], vocab);
  }
}

TEST(Gemma3nRecipesTest, EveryRecipeRunsInLiteqAndLiteRt) {
  LITEQ_REQUIRE_LITERT();
  const auto windows = EvalWindows(4);
  ASSERT_EQ(windows.size(), 4u);
  for (const RecipeCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    const std::string path = Quantized(c.options);
    ASSERT_FALSE(path.empty());
    LoadedModel m = LoadTflite(path);
    const size_t vocab = m.session->shape().vocab_size;
    Agreement agreement;
    auto eval = conformance::EvalInLiteRt(
        path, windows, [&](size_t w, const std::vector<float>& logits) -> Status {
          m.session->Reset();
          std::vector<float> ours;
          LITEQ_RETURN_IF_ERROR(m.session->Feed(windows[w], &ours));
          if (ours.size() != logits.size()) return InternalError("logit sizes differ");
          agreement.Add(logits, ours, vocab);
          return Status::Ok();
        });
    ASSERT_TRUE(eval.ok()) << eval.status().ToString();
    ComparePrefillAndDecode(path, &agreement);
    ASSERT_GT(agreement.positions, 0);
    // Enough positions must be decided for the top-1 check to mean something.
    ASSERT_GT(agreement.decided, agreement.positions / 8);
    const double top1 = static_cast<double>(agreement.same_top1) / agreement.decided;
    const double kl = agreement.kl_sum / agreement.positions;
    std::printf(
        "[ gemma3n_text ] %-25s liteq vs LiteRT, %lld positions: mean KL %.2e, top-1 "
        "%.2f%% (all), %.2f%% of the %lld with a margin > %.2f\n",
        c.name, static_cast<long long>(agreement.positions), kl,
        100.0 * agreement.same_top1_all / agreement.positions, 100 * top1,
        static_cast<long long>(agreement.decided), kTop1Margin);
    EXPECT_GE(top1, c.min_top1);
    EXPECT_LT(kl, c.max_kl);
  }
}

// static_int8 with an int8 KV cache: the cache takes the parameters of the values
// written into it, so the logits equal those of the float cache (README "recipes").
// Layers 2 and 3 own no cache and read layers 0 and 1's int8 caches.
TEST(Gemma3nRecipesTest, StaticInt8WithInt8CacheMatchesFloatCache) {
  quant::RecipeOptions float_cache{.recipe = quant::Recipe::kStaticInt8};
  quant::RecipeOptions int8_cache = float_cache;
  int8_cache.kv_cache_int = true;
  LoadedModel f = LoadTflite(Quantized(float_cache));
  LoadedModel q = LoadTflite(Quantized(int8_cache));
  std::vector<std::string> names = q.interpreter->StateNames();
  ASSERT_EQ(names.size(), 4u);  // k/v of the two layers that own a cache
  for (const auto& name : names) {
    auto state = q.interpreter->State(name);
    ASSERT_TRUE(state.ok());
    EXPECT_EQ(state->dtype, graph::DType::kInt8) << name;
  }
  const auto windows = EvalWindows(2);
  ASSERT_EQ(windows.size(), 2u);
  for (const auto& w : windows) {
    f.session->Reset();
    q.session->Reset();
    std::vector<float> a, b;
    ASSERT_TRUE(f.session->Feed(w, &a).ok());
    ASSERT_TRUE(q.session->Feed(w, &b).ok());
    EXPECT_EQ(a, b);
    for (int step = 0; step < 4; ++step) {  // decode steps read the caches too
      const int32_t one[1] = {static_cast<int32_t>(7 + 13 * step)};
      ASSERT_TRUE(f.session->Feed(one).ok());
      ASSERT_TRUE(q.session->Feed(one).ok());
      EXPECT_TRUE(std::equal(f.session->last_logits().begin(), f.session->last_logits().end(),
                             q.session->last_logits().begin(), q.session->last_logits().end()));
    }
  }
}

// --ple-dtype: the per-layer embedding table keeps the chosen type in the file while
// the rest follows the recipe.
TEST(Gemma3nRecipesTest, PerLayerEmbeddingTableKeepsItsPrecision) {
  auto table_type = [](const std::string& path) {
    auto model = tflite::ReadTflite(path);
    LITEQ_CHECK(model.ok());
    std::set<std::string> types;
    for (const graph::Tensor& t : (*model)->subgraphs[0].tensors) {
      if (t.name.rfind(kPle, 0) == 0 && t.buffer != 0) types.insert(graph::DTypeName(t.dtype));
    }
    std::string out;
    for (const auto& s : types) out += (out.empty() ? "" : ",") + s;
    return out;
  };
  for (quant::Recipe r : {quant::Recipe::kWeightOnlyInt8, quant::Recipe::kDynamicInt8,
                          quant::Recipe::kStaticInt8, quant::Recipe::kStatic16x8}) {
    SCOPED_TRACE(quant::RecipeName(r));
    const std::string int8 = Quantized({.recipe = r});
    const std::string f32 = Quantized({.recipe = r, .float_weights = {kPle}});
    const std::string f16 = Quantized({.recipe = r, .float16_weights = {kPle}});
    EXPECT_EQ(table_type(int8), r == quant::Recipe::kStatic16x8 ? "int16" : "int8");
    EXPECT_EQ(table_type(f32), "float32");
    EXPECT_EQ(table_type(f16), "float16");
    // 1000 x 64 table: 4 bytes per value in float32, 2 in float16.
    const auto size = [](const std::string& p) {
      return static_cast<int64_t>(std::filesystem::file_size(p));
    };
    EXPECT_NEAR(size(f32) - size(f16), 128000, 4000);
    // Every file runs (prefill + decode) in liteq.
    for (const std::string& path : {int8, f32, f16}) {
      LoadedModel m = LoadTflite(path);
      const int32_t prompt[3] = {5, 17, 300};
      ASSERT_TRUE(m.session->Feed(prompt).ok());
      const int32_t next[1] = {42};
      ASSERT_TRUE(m.session->Feed(next).ok());
      for (float v : m.session->last_logits()) ASSERT_TRUE(std::isfinite(v));
    }
  }
}

}  // namespace
}  // namespace liteq::e2e
