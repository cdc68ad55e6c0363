// ModelConfig parsing: every fixture config (transformers 5 keys), the older key
// style, and malformed configs.
#include "model/config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

namespace liteq::model {
namespace {

using nlohmann::json;

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return json::parse(in);
}

std::string FamilyConfig(const std::string& family) {
  return std::string(LITEQ_TESTDATA_DIR) + "/families/" + family + "/config.json";
}

ModelConfig ParseOk(const std::string& path) {
  Result<ModelConfig> c = ParseModelConfig(ReadJson(path), path);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? c.value() : ModelConfig{};
}

int CountSliding(const ModelConfig& c) {
  int n = 0;
  for (AttentionKind t : c.layer_types) n += t == AttentionKind::kSliding;
  return n;
}

TEST(ModelConfigTest, Gemma3Tiny) {
  const ModelConfig c = ParseOk(std::string(LITEQ_MODELS_DIR) + "/gemma3-tiny/config.json");
  EXPECT_EQ(c.family, Family::kGemma);
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_EQ(c.hidden_size, 192);
  EXPECT_EQ(c.intermediate_size, 768);
  EXPECT_EQ(c.num_layers, 6);
  EXPECT_EQ(c.num_heads, 3);
  EXPECT_EQ(c.num_kv_heads, 1);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.norm, NormKind::kRmsPlusOne);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-6f);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_TRUE(c.sandwich_norms);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.activation, ActivationKind::kGeluTanh);
  EXPECT_TRUE(c.gated_mlp);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FLOAT_EQ(c.embedding_scale, static_cast<float>(std::sqrt(192.0)));
  EXPECT_FLOAT_EQ(c.attn_scale, 0.125f);  // query_pre_attn_scalar 64
  EXPECT_EQ(c.attn_logit_softcap, 0.f);
  EXPECT_EQ(c.final_logit_softcap, 0.f);
  EXPECT_EQ(c.sliding_window, 128);
  ASSERT_EQ(c.layer_types.size(), 6u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.layer_types[i], AttentionKind::kSliding) << i;
  EXPECT_EQ(c.layer_types[5], AttentionKind::kFull);
  EXPECT_EQ(c.rope_full.theta, 1000000.0);
  EXPECT_EQ(c.rope_sliding.theta, 10000.0);
  EXPECT_EQ(c.rope_full.type, "default");
  EXPECT_EQ(c.rotary_dim, 64);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{2});
  EXPECT_EQ(c.pad_token_id, 0);
}

TEST(ModelConfigTest, LlamaTiny) {
  const ModelConfig c = ParseOk(std::string(LITEQ_MODELS_DIR) + "/llama-tiny/config.json");
  EXPECT_EQ(c.family, Family::kLlama);
  EXPECT_EQ(c.hidden_size, 128);
  EXPECT_EQ(c.num_layers, 4);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.intermediate_size, 384);
  EXPECT_EQ(c.norm, NormKind::kRms);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);
  EXPECT_EQ(c.activation, ActivationKind::kSilu);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_FALSE(c.HasSliding());
  EXPECT_EQ(c.embedding_scale, 1.f);
  EXPECT_FLOAT_EQ(c.attn_scale, 1.f / std::sqrt(32.f));
  EXPECT_EQ(c.rope_full.theta, 10000.0);
  EXPECT_EQ(c.pad_token_id, -1);  // null
}

// Old-style Gemma 3 keys parse to the same struct as the transformers 5 keys.
TEST(ModelConfigTest, Gemma3OldKeysEqualNewKeys) {
  const std::string path = std::string(LITEQ_MODELS_DIR) + "/gemma3-tiny/config.json";
  json modern = ReadJson(path);
  json old = modern;
  old.erase("rope_parameters");
  old.erase("layer_types");
  old.erase("_sliding_window_pattern");
  old["rope_theta"] = 1000000.0;
  old["rope_local_base_freq"] = 10000.0;
  old["sliding_window_pattern"] = 6;
  old["rope_scaling"] = nullptr;
  Result<ModelConfig> a = ParseModelConfig(modern, path);
  Result<ModelConfig> b = ParseModelConfig(old, path);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->ToJson(), b->ToJson());

  // rope_scaling (old) applies to global layers only.
  old["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 8.0}};
  Result<ModelConfig> scaled = ParseModelConfig(old, path);
  ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
  EXPECT_EQ(scaled->rope_full.type, "linear");
  EXPECT_EQ(scaled->rope_full.factor, 8.0);
  EXPECT_EQ(scaled->rope_full.theta, 1000000.0);
  EXPECT_EQ(scaled->rope_sliding.type, "default");
  EXPECT_EQ(scaled->rope_sliding.theta, 10000.0);

  // Pattern 3 over 6 layers: layers 2 and 5 are global.
  old["sliding_window_pattern"] = 3;
  Result<ModelConfig> p3 = ParseModelConfig(old, path);
  ASSERT_TRUE(p3.ok());
  EXPECT_EQ(p3->layer_types[2], AttentionKind::kFull);
  EXPECT_EQ(p3->layer_types[5], AttentionKind::kFull);
  EXPECT_EQ(CountSliding(*p3), 4);
}

TEST(ModelConfigTest, OldLlamaKeys) {
  json j = ReadJson(FamilyConfig("llama3"));
  json old = j;
  old.erase("rope_parameters");
  old["rope_theta"] = 500000.0;
  old["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", 32.0},
                         {"high_freq_factor", 4.0},
                         {"low_freq_factor", 1.0},
                         {"original_max_position_embeddings", 64}};
  Result<ModelConfig> a = ParseModelConfig(j, "new");
  Result<ModelConfig> b = ParseModelConfig(old, "old");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->ToJson(), b->ToJson());
  EXPECT_EQ(a->rope_full.type, "llama3");
  EXPECT_EQ(a->rope_full.theta, 500000.0);
  EXPECT_EQ(a->rope_full.factor, 32.0);
  EXPECT_EQ(a->rope_full.original_max_position_embeddings, 64.0);
  // The older "type" spelling of rope_scaling.
  old["rope_scaling"].erase("rope_type");
  old["rope_scaling"]["type"] = "llama3";
  Result<ModelConfig> c = ParseModelConfig(old, "old");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rope_full, a->rope_full);
}

TEST(ModelConfigTest, Families) {
  struct Expect {
    const char* family;
    Family f;
    int heads, kv, head_dim, rotary_dim, sliding_layers, window;
    NormKind norm;
    bool qkv_bias, qk_norm, parallel, tied, gated;
  };
  const Expect cases[] = {
      {"qwen2", Family::kLlama, 4, 2, 16, 16, 0, 0, NormKind::kRms, true, false, false, false,
       true},
      {"qwen3", Family::kLlama, 4, 2, 16, 16, 0, 0, NormKind::kRms, false, true, false, true, true},
      {"mistral", Family::kLlama, 4, 2, 16, 16, 3, 16, NormKind::kRms, false, false, false, false,
       true},
      {"llama3", Family::kLlama, 4, 2, 16, 16, 0, 0, NormKind::kRms, false, false, false, true,
       true},
      {"gemma", Family::kGemma, 4, 1, 16, 16, 0, 0, NormKind::kRmsPlusOne, false, false, false,
       true, true},
      {"gemma2", Family::kGemma, 4, 2, 16, 16, 2, 16, NormKind::kRmsPlusOne, false, false, false,
       true, true},
      {"gemma3_text", Family::kGemma, 4, 1, 16, 16, 3, 16, NormKind::kRmsPlusOne, false, true,
       false, true, true},
      // Gemma3nRMSNorm scales by w, not 1 + w.
      {"gemma3n_text", Family::kGemma3n, 4, 1, 16, 16, 2, 16, NormKind::kRms, false, true, false,
       true, true},
      {"phi3", Family::kPhi3, 4, 4, 16, 16, 0, 0, NormKind::kRms, false, false, false, false, true},
      {"phi", Family::kPhi, 4, 4, 16, 8, 0, 0, NormKind::kLayerNorm, true, false, true, false,
       false},
      {"stablelm", Family::kStableLm, 4, 4, 16, 4, 0, 0, NormKind::kLayerNorm, false, false, false,
       false, true},
      // multi_query: one K/V head whatever num_kv_heads says.
      {"falcon", Family::kFalcon, 4, 1, 16, 16, 0, 0, NormKind::kLayerNorm, false, false, true,
       true, false},
  };
  for (const Expect& e : cases) {
    SCOPED_TRACE(e.family);
    const ModelConfig c = ParseOk(FamilyConfig(e.family));
    EXPECT_EQ(c.family, e.f);
    EXPECT_EQ(c.hidden_size, 64);
    EXPECT_EQ(c.vocab_size, 1000);
    EXPECT_EQ(c.num_heads, e.heads);
    EXPECT_EQ(c.num_kv_heads, e.kv);
    EXPECT_EQ(c.head_dim, e.head_dim);
    EXPECT_EQ(c.rotary_dim, e.rotary_dim);
    EXPECT_EQ(CountSliding(c), e.sliding_layers);
    EXPECT_EQ(c.sliding_window, e.window);
    EXPECT_EQ(c.norm, e.norm);
    EXPECT_EQ(c.qkv_bias, e.qkv_bias);
    EXPECT_EQ(c.qk_norm, e.qk_norm);
    EXPECT_EQ(c.parallel_residual, e.parallel);
    EXPECT_EQ(c.tie_word_embeddings, e.tied);
    EXPECT_EQ(c.gated_mlp, e.gated);
    EXPECT_EQ(static_cast<int>(c.layer_types.size()), c.num_layers);
  }
}

TEST(ModelConfigTest, FamilyDetails) {
  const ModelConfig g2 = ParseOk(FamilyConfig("gemma2"));
  EXPECT_EQ(g2.attn_logit_softcap, 50.f);
  EXPECT_EQ(g2.final_logit_softcap, 30.f);
  EXPECT_FLOAT_EQ(g2.attn_scale, 0.25f);  // query_pre_attn_scalar 16
  EXPECT_TRUE(g2.sandwich_norms);
  EXPECT_EQ(g2.layer_types[0], AttentionKind::kSliding);
  EXPECT_EQ(g2.layer_types[1], AttentionKind::kFull);
  EXPECT_FLOAT_EQ(g2.embedding_scale, 8.f);

  const ModelConfig g1 = ParseOk(FamilyConfig("gemma"));
  EXPECT_FALSE(g1.sandwich_norms);
  EXPECT_EQ(g1.activation, ActivationKind::kGeluTanh);
  EXPECT_FLOAT_EQ(g1.attn_scale, 0.25f);

  const ModelConfig phi = ParseOk(FamilyConfig("phi"));
  EXPECT_EQ(phi.activation, ActivationKind::kGeluTanh);  // gelu_new
  EXPECT_TRUE(phi.o_bias);
  EXPECT_TRUE(phi.mlp_bias);
  EXPECT_TRUE(phi.lm_head_bias);
  EXPECT_FLOAT_EQ(phi.norm_eps, 1e-5f);

  const ModelConfig falcon = ParseOk(FamilyConfig("falcon"));
  EXPECT_EQ(falcon.activation, ActivationKind::kGelu);
  EXPECT_TRUE(falcon.falcon_multi_query);
  EXPECT_FALSE(falcon.falcon_new_decoder_architecture);
  EXPECT_EQ(falcon.intermediate_size, 256);
  EXPECT_EQ(falcon.eos_token_ids, std::vector<int>{11});

  const ModelConfig qwen2 = ParseOk(FamilyConfig("qwen2"));
  EXPECT_FALSE(qwen2.o_bias);
  EXPECT_EQ(qwen2.bos_token_id, -1);
  EXPECT_TRUE(qwen2.eos_token_ids.empty());

  const ModelConfig phi3 = ParseOk(FamilyConfig("phi3"));
  EXPECT_EQ(phi3.eos_token_ids, std::vector<int>{32000});
  EXPECT_FALSE(phi3.HasSliding());  // sliding_window: null
}

TEST(ModelConfigTest, Gemma3nKeys) {
  const ModelConfig c = ParseOk(FamilyConfig("gemma3n_text"));
  EXPECT_EQ(c.intermediate_sizes, (std::vector<int>{160, 160, 160, 160}));
  EXPECT_EQ(c.intermediate_size, 160);
  EXPECT_EQ(c.activation_sparsity, (std::vector<float>{0.95f, 0.95f, 0.f, 0.f}));
  EXPECT_EQ(c.altup_num_inputs, 4);
  EXPECT_EQ(c.altup_active_idx, 0);
  EXPECT_EQ(c.altup_coef_clip, 120.f);
  EXPECT_TRUE(c.altup_correct_scale);
  EXPECT_EQ(c.laurel_rank, 8);
  EXPECT_EQ(c.hidden_size_per_layer_input, 16);
  EXPECT_EQ(c.vocab_size_per_layer_input, 1000);
  EXPECT_EQ(c.num_kv_shared_layers, 2);
  EXPECT_EQ(c.attn_scale, 1.f);
  EXPECT_EQ(c.final_logit_softcap, 30.f);
  EXPECT_FLOAT_EQ(c.embedding_scale, 8.f);
  EXPECT_EQ(c.activation, ActivationKind::kGeluTanh);
  EXPECT_EQ(c.rope_full.theta, 1000000.0);
  EXPECT_EQ(c.rope_sliding.theta, 10000.0);
  // Layers sliding, full, sliding, full; the last two share layers 0 and 1.
  EXPECT_EQ(c.KvCacheLayer(0), 0);
  EXPECT_EQ(c.KvCacheLayer(1), 1);
  EXPECT_EQ(c.KvCacheLayer(2), 0);
  EXPECT_EQ(c.KvCacheLayer(3), 1);
  EXPECT_FALSE(c.OwnsKvCache(3));
  const json j = c.ToJson();
  EXPECT_EQ(j.at("num_kv_shared_layers"), 2);
  EXPECT_EQ(j.at("laurel_rank"), 8);

  // One intermediate_size for every layer; no sparsity pattern means none.
  json plain = ReadJson(FamilyConfig("gemma3n_text"));
  plain["intermediate_size"] = 96;
  plain.erase("activation_sparsity_pattern");
  const ModelConfig p = ParseModelConfig(plain, "plain.json").value();
  EXPECT_EQ(p.intermediate_sizes, (std::vector<int>{96, 96, 96, 96}));
  EXPECT_EQ(p.activation_sparsity, (std::vector<float>{0, 0, 0, 0}));

  auto expect_error = [](json cfg, const std::string& key) {
    Result<ModelConfig> r = ParseModelConfig(cfg, "bad.json");
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_NE(r.status().message().find(key), std::string::npos) << r.status().ToString();
  };
  json bad = ReadJson(FamilyConfig("gemma3n_text"));
  bad["intermediate_size"] = json::array({160, 160});
  expect_error(bad, "intermediate_size");
  bad = ReadJson(FamilyConfig("gemma3n_text"));
  bad["activation_sparsity_pattern"] = json::array({0.5, 0.5, 1.0, 0.0});
  expect_error(bad, "activation_sparsity_pattern");
  bad = ReadJson(FamilyConfig("gemma3n_text"));
  bad["altup_active_idx"] = 4;
  expect_error(bad, "altup_active_idx");
  bad = ReadJson(FamilyConfig("gemma3n_text"));
  bad["num_kv_shared_layers"] = 5;
  expect_error(bad, "num_kv_shared_layers");
  // Layer 3 (full) would share, but no earlier layer is full.
  bad = ReadJson(FamilyConfig("gemma3n_text"));
  bad["layer_types"] = json::array(
      {"sliding_attention", "sliding_attention", "sliding_attention", "full_attention"});
  expect_error(bad, "num_kv_shared_layers");
}

TEST(ModelConfigTest, QwenSlidingWindowNeedsUseSlidingWindow) {
  json j = ReadJson(FamilyConfig("qwen2"));
  j.erase("layer_types");
  j["sliding_window"] = 4096;  // ignored: use_sliding_window is false
  Result<ModelConfig> c = ParseModelConfig(j, "qwen2");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sliding_window, 0);
  EXPECT_FALSE(c->HasSliding());
  j["use_sliding_window"] = true;
  j["max_window_layers"] = 1;
  c = ParseModelConfig(j, "qwen2");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sliding_window, 4096);
  EXPECT_EQ(c->layer_types[0], AttentionKind::kFull);
  EXPECT_EQ(c->layer_types[1], AttentionKind::kSliding);
}

TEST(ModelConfigTest, EosList) {
  json j = ReadJson(FamilyConfig("llama3"));
  j["eos_token_id"] = {128001, 128008, 128009};
  Result<ModelConfig> c = ParseModelConfig(j, "x");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->eos_token_ids, (std::vector<int>{128001, 128008, 128009}));
}

// Malformed configs: the error names the file and the key.
void ExpectError(const json& j, StatusCode code, const std::string& key) {
  Result<ModelConfig> c = ParseModelConfig(j, "/some/config.json");
  ASSERT_FALSE(c.ok()) << j.dump();
  EXPECT_EQ(c.status().code(), code) << c.status().ToString();
  EXPECT_NE(c.status().message().find("/some/config.json"), std::string::npos)
      << c.status().ToString();
  EXPECT_NE(c.status().message().find(key), std::string::npos) << c.status().ToString();
}

TEST(ModelConfigTest, MalformedConfigs) {
  const json base = ReadJson(std::string(LITEQ_MODELS_DIR) + "/llama-tiny/config.json");
  ExpectError(json::array(), StatusCode::kInvalidArgument, "not a JSON object");
  {
    json j = base;
    j.erase("model_type");
    ExpectError(j, StatusCode::kInvalidArgument, "model_type");
  }
  {
    json j = base;
    j["model_type"] = "mamba";
    ExpectError(j, StatusCode::kUnimplemented, "mamba");
  }
  for (const char* key : {"hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
                          "intermediate_size"}) {
    json j = base;
    j.erase(key);
    ExpectError(j, StatusCode::kInvalidArgument, key);
    j[key] = "twelve";
    ExpectError(j, StatusCode::kInvalidArgument, key);
  }
  {
    json j = base;
    j["num_key_value_heads"] = 3;  // does not divide 4 heads
    ExpectError(j, StatusCode::kInvalidArgument, "num_key_value_heads");
  }
  {
    json j = base;
    j["hidden_size"] = -128;
    ExpectError(j, StatusCode::kInvalidArgument, "hidden_size");
  }
  {
    json j = base;
    j["rope_parameters"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"rope_theta", 1e4}};
    ExpectError(j, StatusCode::kUnimplemented, "rope_parameters.rope_type");
  }
  {
    json j = base;
    j["rope_parameters"] = {{"rope_type", "llama3"}, {"rope_theta", 1e4}};
    ExpectError(j, StatusCode::kInvalidArgument, "rope_parameters.factor");
  }
  {
    json j = base;
    j["rope_parameters"] = "10000";
    ExpectError(j, StatusCode::kInvalidArgument, "rope_parameters");
  }
  {
    json j = base;
    j["layer_types"] = {"full_attention"};  // 4 layers
    ExpectError(j, StatusCode::kInvalidArgument, "layer_types");
  }
  {
    json j = base;
    j["layer_types"] = {"full_attention", "sliding_attention", "full_attention",
                        "full_attention"};  // no sliding_window
    ExpectError(j, StatusCode::kInvalidArgument, "sliding_window");
  }
  {
    json j = base;
    j["hidden_act"] = "swiglu_oai";
    ExpectError(j, StatusCode::kUnimplemented, "hidden_act");
  }
  {
    json j = base;
    j["tie_word_embeddings"] = "yes";
    ExpectError(j, StatusCode::kInvalidArgument, "tie_word_embeddings");
  }
  {
    json j = ReadJson(FamilyConfig("phi"));
    j["partial_rotary_factor"] = 0.01;  // 0 rotary dims
    j["rope_parameters"].erase("partial_rotary_factor");
    ExpectError(j, StatusCode::kInvalidArgument, "partial_rotary_factor");
  }
  {
    json j = ReadJson(FamilyConfig("falcon"));
    j["alibi"] = true;
    ExpectError(j, StatusCode::kUnimplemented, "alibi");
  }
}

TEST(ModelConfigTest, ToJsonHasEveryArchitectureField) {
  const ModelConfig c = ParseOk(FamilyConfig("gemma2"));
  const json j = c.ToJson();
  EXPECT_EQ(j.at("model_type"), "gemma2");
  EXPECT_EQ(j.at("num_layers"), 3);
  EXPECT_EQ(j.at("layer_types").size(), 3u);
  EXPECT_EQ(j.at("final_logit_softcap"), 30.0);
  EXPECT_EQ(j.at("rope_full").at("theta"), 10000.0);
}

}  // namespace
}  // namespace liteq::model
