// The per-tensor debugger and the sensitivity sweep on in-memory graphs of gemma3-tiny
// (float, and static_int8 / static_16x8 calibrated here): pairing by name, exact
// rounding bounds where no error can accumulate, error growing along the graph, exact
// zeros for a float model against itself, byte accounting of the sweep and a plan that
// meets its target.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "e2e_util.h"
#include "eval/quant_debugger.h"
#include "eval/sensitivity.h"
#include "quant/calibration.h"
#include "quant/outliers.h"
#include "tokenizer/tokenizer.h"

namespace liteq::e2e {
namespace {

const model::ExportOptions kOptions{.prefill_lengths = {32}, .max_seq = 128};
constexpr int kGrowthSteps = 16;

std::shared_ptr<const graph::Model> FloatModel() {
  static const std::shared_ptr<const graph::Model> model = [] {
    auto ckpt = io::Checkpoint::Open(ModelDir("gemma3-tiny"));
    LITEQ_CHECK(ckpt.ok());
    auto built = model::BuildModel(std::move(ckpt).value(), kOptions);
    LITEQ_CHECK(built.ok());
    return std::make_shared<const graph::Model>(std::move(built).value());
  }();
  return model;
}

const quant::ActivationRanges& Ranges(quant::Recipe recipe) {
  static std::map<quant::Recipe, quant::ActivationRanges> cache;
  if (auto it = cache.find(recipe); it != cache.end()) return it->second;
  auto tok = tokenizer::Tokenizer::Load(ModelDir("gemma3-tiny"));
  LITEQ_CHECK(tok.ok());
  auto samples = quant::LoadCalibrationSamples(std::string(LITEQ_DATA_DIR) + "/brown/calib.jsonl",
                                               tok->get(), 16, kOptions.prefill_lengths[0], 8);
  LITEQ_CHECK(samples.ok());
  auto calibration = quant::Calibrate(FloatModel(), *samples, {});
  LITEQ_CHECK(calibration.ok());
  quant::ObserverOptions observer;
  observer.bits = recipe == quant::Recipe::kStatic16x8 ? 16 : 8;
  auto ranges =
      quant::ComputeActivationRanges(*calibration, quant::ObserverKind::kMinMax, observer);
  LITEQ_CHECK(ranges.ok());
  return cache[recipe] = std::move(ranges).value();
}

quant::RecipeOptions Recipe(quant::Recipe recipe) {
  quant::RecipeOptions options;
  options.recipe = recipe;
  options.ranges = &Ranges(recipe);
  return options;
}

std::shared_ptr<const graph::Model> Quantized(quant::Recipe recipe) {
  auto copy = std::make_shared<graph::Model>(*FloatModel());
  auto report = quant::ApplyRecipe(*copy, Recipe(recipe));
  LITEQ_CHECK(report.ok());
  return copy;
}

// Real token sequences: the transformers eval windows, cut into 3 samples of one
// prefill (32) plus 8 decode steps and one decode-only sample of 5 tokens.
std::vector<std::vector<int32_t>> Samples() {
  const auto windows = ReadEvalWindows(*OpenReference(ModelDir("gemma3-tiny")));
  std::vector<std::vector<int32_t>> samples;
  for (int i = 0; i < 3; ++i) samples.emplace_back(windows[i].begin(), windows[i].begin() + 40);
  samples.emplace_back(windows[3].begin(), windows[3].begin() + 5);
  return samples;
}

std::vector<std::vector<int32_t>> Prompts() {
  const auto windows = ReadEvalWindows(*OpenReference(ModelDir("gemma3-tiny")));
  return {{windows[4].begin(), windows[4].begin() + 8},
          {windows[5].begin(), windows[5].begin() + 8}};
}

eval::QuantDebugReport Debug(std::shared_ptr<const graph::Model> quantized) {
  eval::QuantDebugOptions options;
  options.growth_steps = kGrowthSteps;
  auto report =
      eval::DebugQuantization(std::move(quantized), FloatModel(), Samples(), Prompts(), options);
  LITEQ_CHECK(report.ok());
  return std::move(report).value();
}

const eval::TensorError* Find(const eval::QuantDebugReport& r, const std::string& name) {
  for (const auto& e : r.tensors) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

double MedianSnr(const eval::QuantDebugReport& r) {
  std::vector<double> snr;
  for (const auto& e : r.tensors) snr.push_back(e.snr_db);
  std::sort(snr.begin(), snr.end());
  return snr[snr.size() / 2];
}

// Mean SNR (finite values) of the tensors whose names start with `prefix`.
double MeanLayerSnr(const eval::QuantDebugReport& r, const std::string& prefix) {
  double sum = 0;
  int n = 0;
  for (const auto& e : r.tensors) {
    if (e.name.rfind(prefix, 0) == 0 && std::isfinite(e.snr_db)) {
      sum += e.snr_db;
      ++n;
    }
  }
  EXPECT_GT(n, 10) << prefix;
  return n > 0 ? sum / n : 0.0;
}

TEST(QuantDebuggerTest, FloatAgainstItselfComparesNothingAndDivergesByExactlyZero) {
  const eval::QuantDebugReport r = Debug(FloatModel());
  EXPECT_TRUE(r.tensors.empty());  // no tensor is quantized
  EXPECT_EQ(r.samples, 4);
  EXPECT_EQ(r.prefill_tokens, 3 * 32);
  EXPECT_EQ(r.decode_tokens, 3 * 8 + 5);
  ASSERT_EQ(r.growth_mean_kl.size(), static_cast<size_t>(kGrowthSteps));
  EXPECT_EQ(r.growth_prompts, 2);
  for (int s = 0; s < kGrowthSteps; ++s) {
    EXPECT_EQ(r.growth_mean_kl[s], 0.0) << s;
    EXPECT_EQ(r.growth_max_kl[s], 0.0) << s;
  }
}

TEST(QuantDebuggerTest, StaticInt8ErrorsArePairedBoundedAndGrowAlongTheGraph) {
  const eval::QuantDebugReport r = Debug(Quantized(quant::Recipe::kStaticInt8));
  ASSERT_GT(r.tensors.size(), 100u);
  for (const auto& e : r.tensors) {
    EXPECT_EQ(e.dtype, "int8") << e.name;
    EXPECT_GT(e.values, 0u) << e.name;
    EXPECT_LE(e.rmse, e.max_abs_error * (1 + 1e-12)) << e.name;
    EXPECT_GE(e.clipped_fraction, 0.0);
    EXPECT_LE(e.clipped_fraction, 1.0);
    EXPECT_LE(e.reference_min, e.reference_max) << e.name;
    // Converted copies are compared with the float tensor they were made from.
    if (e.name.size() > 10 && e.name.ends_with("/quantized")) {
      EXPECT_EQ(e.reference, e.name.substr(0, e.name.size() - 10));
    } else if (!e.name.ends_with("/requantized")) {
      EXPECT_EQ(e.reference, e.name);
    }
  }
  // The embedding GATHER reads the int8 table and nothing upstream: its only error is
  // the table's rounding, at most half a step, and nothing clips (the table's own range).
  const eval::TensorError* lookup = Find(r, "embedding.lookup");
  ASSERT_NE(lookup, nullptr);
  EXPECT_LE(lookup->max_abs_error, 0.5 * lookup->scale * (1 + 1e-6));
  EXPECT_GT(lookup->max_abs_error, 0.0);
  EXPECT_EQ(lookup->clipped, 0u);
  // Softmax outputs have the spec's fixed parameters (scale 1/256, zero point -128).
  const eval::TensorError* probs = Find(r, "layers.0.attn.probs");
  ASSERT_NE(probs, nullptr);
  EXPECT_EQ(probs->scale, 1.0f / 256.0f);
  EXPECT_EQ(probs->zero_point, -128);
  EXPECT_GE(probs->reference_min, 0.0);
  EXPECT_LE(probs->reference_max, 1.0);
  // The mask (SELECT_V2 writes it in int8): hidden keys hold sentinels (skipped),
  // visible ones 0 (exact).
  const eval::TensorError* mask = Find(r, "causal_mask.additive");
  ASSERT_NE(mask, nullptr);
  EXPECT_GT(mask->sentinels, 0u);
  EXPECT_EQ(mask->sum_error2, 0.0);
  EXPECT_TRUE(std::isinf(mask->snr_db) && mask->snr_db > 0);
  // End to end: error accumulates, so the last layer's tensors are worse on average
  // than the first layer's.
  EXPECT_LT(MeanLayerSnr(r, "layers.5."), MeanLayerSnr(r, "layers.0.") - 3.0);
  ASSERT_NE(Find(r, "logits"), nullptr);
  // Worst first, and the worst are well below the median.
  const std::vector<size_t> worst = r.WorstFirst();
  for (size_t i = 1; i < worst.size(); ++i) {
    EXPECT_LE(r.tensors[worst[i - 1]].worst_snr_db(), r.tensors[worst[i]].worst_snr_db());
  }
  EXPECT_LT(r.tensors[worst[0]].worst_snr_db(), MedianSnr(r) - 3.0);
  // Decode growth: quantization changes every step's distribution a little.
  ASSERT_EQ(r.growth_mean_kl.size(), static_cast<size_t>(kGrowthSteps));
  for (int s = 0; s < kGrowthSteps; ++s) {
    EXPECT_GT(r.growth_mean_kl[s], 0.0) << s;
    EXPECT_LT(r.growth_mean_kl[s], 1.0) << s;
    EXPECT_GE(r.growth_max_kl[s], r.growth_mean_kl[s]) << s;
  }
  // JSON: worst first, +inf SNR as null.
  const nlohmann::json j = eval::QuantDebugReportToJson(r, 0);
  ASSERT_EQ(j["tensors"].size(), r.tensors.size());
  EXPECT_EQ(j["tensors"][0]["name"], r.tensors[worst[0]].name);
  EXPECT_TRUE(j["tensors"].back()["snr_db"].is_null());
}

// The oracle: on gemma3-tiny with injected activation outliers (factor 30 on
// 2% of the channels of every pre-attention and pre-MLP norm, quant/outliers.h) the
// debugger ranks the injected norm outputs among the worst tensors; on the plain model
// the same tensors are not. Their tensor SNR stays high (the outlier channels dominate
// the signal power); the median channel SNR exposes them.
std::vector<size_t> RanksOf(const eval::QuantDebugReport& r, const std::set<std::string>& names) {
  const std::vector<size_t> worst = r.WorstFirst();
  std::vector<size_t> ranks;
  for (size_t i = 0; i < worst.size(); ++i) {
    if (names.count(r.tensors[worst[i]].name) != 0) ranks.push_back(i);
  }
  return ranks;
}

TEST(QuantDebuggerTest, InjectedOutlierNormsRankAmongTheWorst) {
  auto injected = std::make_shared<graph::Model>(*FloatModel());
  auto outliers = quant::InjectActivationOutliers(*injected, {});
  ASSERT_TRUE(outliers.ok()) << outliers.status().ToString();
  std::set<std::string> norms;
  for (const auto& site : outliers->sites) norms.insert(site.norm_output);
  ASSERT_EQ(norms.size(), 12u);  // 6 layers x (attention, MLP)

  auto tok = tokenizer::Tokenizer::Load(ModelDir("gemma3-tiny"));
  ASSERT_TRUE(tok.ok());
  auto samples = quant::LoadCalibrationSamples(std::string(LITEQ_DATA_DIR) + "/brown/calib.jsonl",
                                               tok->get(), 16, kOptions.prefill_lengths[0], 8);
  ASSERT_TRUE(samples.ok());
  std::shared_ptr<const graph::Model> injected_float = injected;
  auto calibration = quant::Calibrate(injected_float, *samples, {});
  ASSERT_TRUE(calibration.ok());
  auto ranges = quant::ComputeActivationRanges(*calibration, quant::ObserverKind::kMinMax, {});
  ASSERT_TRUE(ranges.ok());
  auto quantized = std::make_shared<graph::Model>(*injected_float);
  quant::RecipeOptions recipe;
  recipe.recipe = quant::Recipe::kStaticInt8;
  recipe.ranges = &*ranges;
  ASSERT_TRUE(quant::ApplyRecipe(*quantized, recipe).ok());

  eval::QuantDebugOptions options;
  options.growth_steps = 0;
  auto report = eval::DebugQuantization(quantized, injected_float, Samples(), {}, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const std::vector<size_t> ranks = RanksOf(*report, norms);
  ASSERT_EQ(ranks.size(), norms.size());
  const size_t tenth = report->tensors.size() / 10;
  const auto in_worst_tenth =
      std::count_if(ranks.begin(), ranks.end(), [&](size_t k) { return k < tenth; });
  EXPECT_GE(in_worst_tenth, 10) << "of " << report->tensors.size() << " tensors";
  for (size_t k : ranks) {
    const eval::TensorError& e = report->tensors[report->WorstFirst()[k]];
    // Outliers: the median channel is far worse than the whole tensor.
    EXPECT_LT(e.channel_snr_db, e.snr_db - 3.0) << e.name;
  }

  // The plain model: the same tensors are not singled out.
  const eval::QuantDebugReport plain = Debug(Quantized(quant::Recipe::kStaticInt8));
  const std::vector<size_t> plain_ranks = RanksOf(plain, norms);
  ASSERT_EQ(plain_ranks.size(), norms.size());
  const auto plain_in_worst_tenth =
      std::count_if(plain_ranks.begin(), plain_ranks.end(),
                    [&](size_t k) { return k < plain.tensors.size() / 10; });
  EXPECT_LE(plain_in_worst_tenth, 3);
}

TEST(QuantDebuggerTest, Int16ActivationsAreFarMoreAccurateThanInt8) {
  const eval::QuantDebugReport int8 = Debug(Quantized(quant::Recipe::kStaticInt8));
  const eval::QuantDebugReport int16 = Debug(Quantized(quant::Recipe::kStatic16x8));
  ASSERT_FALSE(int16.tensors.empty());
  for (const auto& e : int16.tensors) EXPECT_EQ(e.dtype, "int16") << e.name;
  // 8 more bits are worth up to 48 dB where activation rounding dominates; the weights
  // are int8 in both, so the gain is smaller but must be clear in the median.
  EXPECT_GT(MedianSnr(int16), MedianSnr(int8) + 6.0);
}

TEST(SensitivityTest, SweepCountsFloatBytesAndThePlanMeetsItsTarget) {
  const graph::Model& float_model = *FloatModel();
  auto windows = ReadEvalWindows(*OpenReference(ModelDir("gemma3-tiny")));
  windows.resize(2);
  for (auto& w : windows) w.resize(64);
  auto evaluator = eval::KlEvaluator::Create(FloatModel(), windows, 1);
  ASSERT_TRUE(evaluator.ok()) << evaluator.status().ToString();
  // The float model itself measures exactly zero.
  auto zero = (*evaluator)->MeanKl(FloatModel());
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(*zero, 0.0);

  const auto groups = eval::DefineOpGroups(float_model, eval::GroupGranularity::kType);
  std::set<std::string> names;
  for (const auto& g : groups) names.insert(g.name);
  for (const char* expected : {"attn_in", "attn_out", "attn_core", "mlp_in", "mlp_out", "norm",
                               "embedding", "lm_head"}) {
    EXPECT_EQ(names.count(expected), 1u) << expected;
  }
  const quant::RecipeOptions recipe = Recipe(quant::Recipe::kStaticInt8);
  auto sweep = eval::RunSensitivity(float_model, groups, recipe, **evaluator);
  ASSERT_TRUE(sweep.ok()) << sweep.status().ToString();
  EXPECT_GT(sweep->baseline_kl, 0.0);
  ASSERT_EQ(sweep->groups.size(), groups.size());
  for (size_t i = 1; i < sweep->groups.size(); ++i) {
    EXPECT_GE(sweep->groups[i - 1].reduction_per_mb, sweep->groups[i].reduction_per_mb);
  }
  // Keeping the MLP input float keeps its constants (the gate/up weights and the norm's
  // weight) float32 instead of int8: 3 more bytes per value (scales live in the
  // tensors' parameters, not in buffers). Each buffer counts once; scalars (the norm's
  // epsilon) feed the RMS statistics, which static_int8 keeps float anyway.
  std::set<uint32_t> mlp_in_buffers;
  const graph::Subgraph& sg = float_model.subgraphs[0];
  for (const graph::Op& op : sg.ops) {
    const std::string& out = sg.tensors[op.outputs[0]].name;
    const bool mlp_in = out.ends_with(".mlp.gate") || out.ends_with(".mlp.up") ||
                        out.find(".mlp.norm") != std::string::npos;
    if (!mlp_in) continue;
    for (int32_t in : op.inputs) {
      if (in >= 0 && sg.tensors[in].buffer != 0 && sg.tensors[in].num_elements() > 1)
        mlp_in_buffers.insert(sg.tensors[in].buffer);
    }
  }
  int64_t mlp_in_values = 0;
  for (uint32_t b : mlp_in_buffers) mlp_in_values += float_model.buffers[b].size / 4;
  ASSERT_GT(mlp_in_values, 0);
  for (const auto& g : sweep->groups) {
    if (g.group.name == "mlp_in") {
      EXPECT_EQ(g.extra_float_bytes, 3 * mlp_in_values);
    }
    if (g.group.name == "attn_core") {
      EXPECT_LT(g.extra_float_bytes, 100000);  // no big weights
    }
  }
  // A target halfway between the best single group and all-int8 is met.
  double best = sweep->baseline_kl;
  for (const auto& g : sweep->groups) best = std::min(best, g.mean_kl);
  ASSERT_LT(best, sweep->baseline_kl);
  const double target = (best + sweep->baseline_kl) / 2;
  auto plan = eval::PlanForTargetKl(float_model, *sweep, recipe, **evaluator, target);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->met);
  EXPECT_LE(plan->achieved_kl, target);
  EXPECT_FALSE(plan->float_groups.empty());
  // Re-measured independently from the plan's regex.
  std::vector<const eval::OpGroup*> chosen;
  for (const auto& g : sweep->groups) {
    if (std::count(plan->float_groups.begin(), plan->float_groups.end(), g.group.name)) {
      chosen.push_back(&g.group);
    }
  }
  auto again = eval::QuantizeAndMeasure(float_model, recipe, chosen, **evaluator);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->mean_kl, plan->achieved_kl);
}

}  // namespace
}  // namespace liteq::e2e
