// Norm channel scaling on the bundled models: which norms qualify, outlier injection
// (src/quant/outliers.h) and SmoothQuant (src/quant/smoothquant.h) leave the float
// function unchanged while moving activation magnitude between channels.
#include "quant/outliers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "e2e_util.h"
#include "quant/calibration.h"
#include "quant/mlp_scaling.h"
#include "quant/norm_scaling.h"
#include "quant/smoothquant.h"
#include "tokenizer/tokenizer.h"

namespace liteq::e2e {
namespace {

const model::ExportOptions kOptions{.prefill_lengths = {64}, .max_seq = 192};

graph::Model Build(const std::string& name) {
  auto ckpt = io::Checkpoint::Open(ModelDir(name));
  LITEQ_CHECK(ckpt.ok());
  auto model = model::BuildModel(std::move(ckpt).value(), kOptions);
  LITEQ_CHECK(model.ok());
  return std::move(model).value();
}

// Logits of every position of the first `n` eval windows, cut to 128 tokens.
std::vector<float> Logits(const graph::Model& model, const std::string& name, int n) {
  auto interpreter = runtime::Interpreter::Create(std::make_shared<const graph::Model>(model), {});
  LITEQ_CHECK(interpreter.ok());
  auto session = generate::Session::Create(interpreter->get());
  LITEQ_CHECK(session.ok());
  auto windows = ReadEvalWindows(*OpenReference(ModelDir(name)));
  std::vector<float> logits;
  for (int w = 0; w < n; ++w) {
    (*session)->Reset();
    std::vector<int32_t> ids(windows[w].begin(), windows[w].begin() + 128);
    LITEQ_CHECK((*session)->Feed(ids, &logits).ok());
  }
  return logits;
}

std::vector<std::vector<int32_t>> Samples(const std::string& name, int n) {
  auto tok = tokenizer::Tokenizer::Load(ModelDir(name));
  LITEQ_CHECK(tok.ok());
  auto samples = quant::LoadCalibrationSamples(std::string(LITEQ_DATA_DIR) + "/brown/calib.jsonl",
                                               tok->get(), n, 64, 8);
  LITEQ_CHECK(samples.ok());
  return std::move(samples).value();
}

// Per-channel max |x| of the given activations.
std::map<std::string, std::vector<float>> ChannelMax(const graph::Model& model,
                                                     const std::vector<std::string>& tensors) {
  quant::CalibrationOptions options;
  options.collect_histograms = false;
  options.channel_abs_max_tensors = tensors;
  options.decode_tokens = 8;
  auto result = quant::Calibrate(std::make_shared<const graph::Model>(model),
                                 Samples("gemma3-tiny", 4), options);
  LITEQ_CHECK(result.ok());
  EXPECT_TRUE(result->tensors.empty()) << "no histograms were asked for";
  return result->channel_abs_max;
}

// Largest channel max over the median channel max: how outlier-dominated a tensor is.
double OutlierRatio(std::vector<float> maxima) {
  const float top = *std::max_element(maxima.begin(), maxima.end());
  std::nth_element(maxima.begin(), maxima.begin() + maxima.size() / 2, maxima.end());
  return top / maxima[maxima.size() / 2];
}

TEST(NormScalingTest, GemmaSitesArePreAttentionAndPreMlpNorms) {
  const graph::Model model = Build("gemma3-tiny");
  auto sites = quant::FindNormScalingSites(model);
  ASSERT_TRUE(sites.ok()) << sites.status().ToString();
  // 6 layers x (input_layernorm -> q,k,v; pre_feedforward_layernorm -> gate,up). Not:
  // the post norms (feed the residual ADD), q/k norms (feed RoPE), the final norm
  // (its lm head is the tied embedding table, also read by GATHER).
  ASSERT_EQ(sites->size(), 12u);
  for (size_t i = 0; i < sites->size(); ++i) {
    const quant::NormScalingSite& s = (*sites)[i];
    const int layer = static_cast<int>(i / 2);
    const bool attn = i % 2 == 0;
    const std::string p = "model.layers." + std::to_string(layer) + ".";
    EXPECT_EQ(s.layer, layer);
    EXPECT_EQ(s.channels, 192);
    if (attn) {
      EXPECT_EQ(s.kind, quant::NormSiteKind::kAttention);
      EXPECT_EQ(s.norm_output, "layers." + std::to_string(layer) + ".attn.norm");
      EXPECT_EQ(s.multiplier_name, p + "input_layernorm.weight+1");
      EXPECT_EQ(s.weight_names, (std::vector<std::string>{p + "self_attn.q_proj.weight",
                                                          p + "self_attn.k_proj.weight",
                                                          p + "self_attn.v_proj.weight"}));
      EXPECT_EQ(s.weight_rows, (std::vector<int64_t>{192, 64, 64}));
    } else {
      EXPECT_EQ(s.kind, quant::NormSiteKind::kMlp);
      EXPECT_EQ(s.multiplier_name, p + "pre_feedforward_layernorm.weight+1");
      EXPECT_EQ(s.weight_names,
                (std::vector<std::string>{p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"}));
    }
  }
}

TEST(NormScalingTest, LlamaFinalNormQualifiesWithAnUntiedHead) {
  const graph::Model model = Build("llama-tiny");
  auto sites = quant::FindNormScalingSites(model);
  ASSERT_TRUE(sites.ok());
  ASSERT_EQ(sites->size(), 9u);  // 4 layers x 2, and the final norm before lm_head
  EXPECT_EQ(sites->back().layer, -1);
  EXPECT_EQ(sites->back().weight_names, std::vector<std::string>{"lm_head.weight"});
  EXPECT_EQ((*sites)[0].multiplier_name, "model.layers.0.input_layernorm.weight");
}

// The gated MLPs: up_proj's output rows and down_proj's input columns (gemma3-tiny:
// hidden 192, ffn 768, 6 layers; llama-tiny: SiLU-gated, one site per layer too).
TEST(MlpScalingTest, EveryGatedMlpIsASite) {
  for (const char* name : {"gemma3-tiny", "llama-tiny"}) {
    const graph::Model model = Build(name);
    auto sites = quant::FindMlpScalingSites(model);
    ASSERT_TRUE(sites.ok()) << sites.status().ToString();
    const nlohmann::json config =
        nlohmann::json::parse(std::ifstream(ModelDir(name) + "/config.json"));
    SCOPED_TRACE(name);
    ASSERT_EQ(static_cast<int>(sites->size()), config["num_hidden_layers"].get<int>());
    for (const quant::MlpScalingSite& site : *sites) {
      EXPECT_EQ(site.channels, config["intermediate_size"].get<int64_t>()) << site.hidden;
      EXPECT_EQ(site.up_columns, config["hidden_size"].get<int64_t>()) << site.hidden;
      EXPECT_NE(site.up_buffer, site.down_buffer);
    }
  }
}

TEST(OutlierSpecTest, Parses) {
  auto all = quant::ParseOutlierSpec("all");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->layers.empty());
  EXPECT_EQ(all->factor, 30.0f);
  auto some = quant::ParseOutlierSpec("1,3:64");
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->layers, (std::vector<int>{1, 3}));
  EXPECT_EQ(some->factor, 64.0f);
  for (const char* bad : {"1,x", "1,,3", "all:0", "all:-2", "1:", ":5", "all:1e9"}) {
    EXPECT_FALSE(quant::ParseOutlierSpec(bad).ok()) << bad;
  }
}

TEST(OutlierTest, InjectionPreservesTheFunctionAndCreatesOutlierChannels) {
  const graph::Model original = Build("gemma3-tiny");
  graph::Model injected = original;
  auto report = quant::InjectActivationOutliers(injected, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // Defaults: every layer, both norms, 2% of 192 = 4 evenly spaced channels, x30.
  EXPECT_EQ(report->sites.size(), 12u);
  EXPECT_EQ(report->channels, (std::vector<int64_t>{24, 72, 120, 168}));
  EXPECT_EQ(report->sites[2].norm_output, "layers.1.attn.norm");
  EXPECT_EQ(report->sites[2].multiplier, "model.layers.1.input_layernorm.weight+1+outliers");
  EXPECT_EQ(report->sites[3].weights[1], "model.layers.1.mlp.up_proj.weight+outliers");
  EXPECT_EQ(injected.metadata.count("liteq.outliers"), 1u);

  const std::vector<float> before = Logits(original, "gemma3-tiny", 2);
  const std::vector<float> after = Logits(injected, "gemma3-tiny", 2);
  const double err = MaxRelativeError(after, before);
  std::printf("[ outliers ] x30 all layers: max relative logit error %.3g\n", err);
  EXPECT_LT(err, 1e-4);

  const auto plain = ChannelMax(original, {"layers.1.attn.norm", "layers.3.mlp.norm"});
  const auto outlying = ChannelMax(injected, {"layers.1.attn.norm", "layers.3.mlp.norm"});
  for (const auto& [name, maxima] : outlying) {
    const std::vector<float>& base = plain.at(name);
    ASSERT_EQ(maxima.size(), 192u);
    // The injected channels are exactly 30x the original ones (same inputs).
    for (int64_t c : report->channels) {
      EXPECT_NEAR(maxima[c], 30.0f * base[c], 1e-3f * 30.0f * base[c]) << name << " " << c;
    }
    EXPECT_FLOAT_EQ(maxima[0], base[0]) << name;
    std::printf("[ outliers ] %s: max/median channel max %.1f -> %.1f\n", name.c_str(),
                OutlierRatio(base), OutlierRatio(maxima));
    EXPECT_GT(OutlierRatio(maxima), 3.0 * OutlierRatio(base)) << name;
  }
}

TEST(OutlierTest, PowerOfTwoFactorIsExactAndLayersAreSelectable) {
  const graph::Model original = Build("llama-tiny");
  graph::Model injected = original;
  quant::OutlierOptions options{.layers = {1, 3}, .factor = 64.0f, .mlp = false};
  auto report = quant::InjectActivationOutliers(injected, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->sites.size(), 2u);
  EXPECT_EQ(report->sites[1].norm_output, "layers.3.attn.norm");
  EXPECT_EQ(report->channels.size(), 3u);  // round(0.02 * 128)
  // Scaling by 64 and 1/64 is exact in float: the same products, the same sums.
  EXPECT_EQ(MaxRelativeError(Logits(injected, "llama-tiny", 1), Logits(original, "llama-tiny", 1)),
            0.0);
  EXPECT_FALSE(quant::InjectActivationOutliers(injected, options).ok()) << "injected twice";
  graph::Model other = original;
  auto missing = quant::InjectActivationOutliers(other, {.layers = {7}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("layer 7"), std::string::npos);
}

TEST(SmoothQuantTest, ScalesFollowThePaper) {
  const std::vector<float> x = {8.0f, 1.0f, 0.0f, 4.0f};
  const std::vector<float> w = {0.5f, 2.0f, 1.0f, 0.0f};
  const std::vector<float> s = quant::SmoothingScales(x, w, 0.5f);
  EXPECT_FLOAT_EQ(s[0], 4.0f);                    // sqrt(8) / sqrt(0.5)
  EXPECT_FLOAT_EQ(s[1], 1.0f / std::sqrt(2.0f));  // sqrt(1) / sqrt(2)
  EXPECT_EQ(s[2], 1.0f);                          // never active: left alone
  EXPECT_EQ(s[3], 1.0f);                          // no weight: left alone
  EXPECT_FLOAT_EQ(quant::SmoothingScales(x, w, 1.0f)[0], 8.0f);
  EXPECT_FLOAT_EQ(quant::SmoothingScales(x, w, 0.0f)[0], 2.0f);
}

TEST(SmoothQuantTest, PreservesTheFunctionAndRemovesInjectedOutliers) {
  graph::Model injected = Build("gemma3-tiny");
  ASSERT_TRUE(quant::InjectActivationOutliers(injected, {}).ok());
  graph::Model smoothed = injected;
  quant::SmoothQuantOptions options;
  options.alpha = 0.5f;
  options.calibration.decode_tokens = 8;
  auto report = quant::ApplySmoothQuant(smoothed, Samples("gemma3-tiny", 4), options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->sites, 12);
  // Also every layer's down_proj input, through up_proj (mlp_scaling.h).
  ASSERT_EQ(report->mlp_hiddens.size(), 6u);
  EXPECT_EQ(smoothed.metadata.count("liteq.smoothquant"), 1u);

  const double err =
      MaxRelativeError(Logits(smoothed, "gemma3-tiny", 2), Logits(injected, "gemma3-tiny", 2));
  std::printf("[ smoothquant ] alpha 0.5: max relative logit error %.3g, scales [%.3g, %.3g]\n",
              err, report->min_scale, report->max_scale);
  EXPECT_LT(err, 1e-4);
  const std::vector<std::string> names = {"layers.1.attn.norm", "layers.3.mlp.norm",
                                          report->mlp_hiddens[2]};
  const auto before = ChannelMax(injected, names);
  const auto after = ChannelMax(smoothed, names);
  for (const std::string& name : names) {
    std::printf("[ smoothquant ] %s: max/median channel max %.1f -> %.1f\n", name.c_str(),
                OutlierRatio(before.at(name)), OutlierRatio(after.at(name)));
    EXPECT_LT(OutlierRatio(after.at(name)), OutlierRatio(before.at(name)) / 3) << name;
  }
}

}  // namespace
}  // namespace liteq::e2e
