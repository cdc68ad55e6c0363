// llama2.c checkpoints: the real stories260K model in both formats, and small
// hand-made files that pin down names, layout, the unshared classifier and the q/k row
// permutation for rotate_half RoPE.
#include "io/llama2c.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "io/checkpoint.h"
#include "test_files.h"

namespace liteq::io {
namespace {

using testing::Append;
using testing::ModelsDir;
using testing::ReadAll;
using testing::ScratchDir;

std::string Stories(const char* file) { return ModelsDir() + "/stories260K/" + file; }

// stories260K (SOURCE.txt): dim 64, hidden 172, 5 layers, 8 heads, 4 kv heads, vocab 512.
constexpr int64_t kDim = 64, kHidden = 172, kLayers = 5, kHeads = 8, kKvHeads = 4, kVocab = 512,
                  kSeq = 512, kHeadDim = kDim / kHeads, kKvDim = kKvHeads * kHeadDim;

// Float offsets (after the 28-byte header) of the legacy file's arrays, in file order,
// computed from the layout documented in SOURCE.txt.
std::map<std::string, int64_t> LegacyArrayStarts() {
  const std::pair<const char*, int64_t> arrays[] = {{"tok_embeddings", kVocab * kDim},
                                                    {"rms_att", kLayers * kDim},
                                                    {"wq", kLayers * kDim * kDim},
                                                    {"wk", kLayers * kKvDim * kDim},
                                                    {"wv", kLayers * kKvDim * kDim},
                                                    {"wo", kLayers * kDim * kDim},
                                                    {"rms_ffn", kLayers * kDim},
                                                    {"w1", kLayers * kHidden * kDim},
                                                    {"w2", kLayers * kDim * kHidden},
                                                    {"w3", kLayers * kHidden * kDim},
                                                    {"rms_final", kDim},
                                                    {"freq_cis_real", kSeq * kHeadDim / 2},
                                                    {"freq_cis_imag", kSeq * kHeadDim / 2}};
  std::map<std::string, int64_t> starts;
  int64_t cursor = 0;
  for (const auto& [name, count] : arrays) {
    starts[name] = cursor;
    cursor += count;
  }
  starts["end"] = cursor;
  return starts;
}

class LegacyFile {
 public:
  LegacyFile() : bytes_(ReadAll(Stories("stories260K.bin"))), starts_(LegacyArrayStarts()) {}
  // Element `index` of array `name` (flat over layers).
  float At(const std::string& name, int64_t index) const {
    float v;
    std::memcpy(&v, bytes_.data() + 28 + 4 * (starts_.at(name) + index), 4);
    return v;
  }
  size_t size() const { return bytes_.size(); }
  int64_t end() const { return starts_.at("end"); }

 private:
  std::vector<uint8_t> bytes_;
  std::map<std::string, int64_t> starts_;
};

TEST(Llama2cTest, StoriesLegacyAndV1HaveSameConfigAndTensors) {
  auto legacy = Checkpoint::Open(Stories("stories260K.bin"));
  ASSERT_TRUE(legacy.ok()) << legacy.status().ToString();
  auto v1 = Checkpoint::Open(Stories("stories260K_v1.bin"));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();

  const nlohmann::json& cfg = (*legacy)->config();
  EXPECT_EQ(cfg["model_type"], "llama");
  EXPECT_EQ(cfg["hidden_size"], kDim);
  EXPECT_EQ(cfg["intermediate_size"], kHidden);
  EXPECT_EQ(cfg["num_hidden_layers"], kLayers);
  EXPECT_EQ(cfg["num_attention_heads"], kHeads);
  EXPECT_EQ(cfg["num_key_value_heads"], kKvHeads);
  EXPECT_EQ(cfg["head_dim"], kHeadDim);
  EXPECT_EQ(cfg["vocab_size"], kVocab);
  EXPECT_EQ(cfg["max_position_embeddings"], kSeq);
  EXPECT_EQ(cfg["rms_norm_eps"], 1e-5);
  EXPECT_EQ(cfg["rope_parameters"]["rope_theta"], 10000.0);
  EXPECT_EQ(cfg["rope_parameters"]["rope_type"], "default");
  EXPECT_EQ(cfg["hidden_act"], "silu");
  EXPECT_EQ(cfg["tie_word_embeddings"], true);
  EXPECT_EQ(cfg["bos_token_id"], 1);
  EXPECT_EQ(cfg["eos_token_id"], 2);
  EXPECT_EQ(cfg["liteq_source_format"], "llama2c");
  nlohmann::json v1_cfg = (*v1)->config();
  v1_cfg.erase("liteq_llama2c_version");
  nlohmann::json legacy_cfg = cfg;
  legacy_cfg.erase("liteq_llama2c_version");
  EXPECT_EQ(v1_cfg, legacy_cfg);

  // embed + norm + 9 per layer; the classifier is shared, so no lm_head.
  ASSERT_EQ((*legacy)->tensors().size(), static_cast<size_t>(2 + 9 * kLayers));
  ASSERT_EQ((*v1)->tensors().size(), (*legacy)->tensors().size());
  EXPECT_EQ((*legacy)->Find("lm_head.weight"), nullptr);
  uint64_t params = 0;
  for (size_t i = 0; i < (*legacy)->tensors().size(); ++i) {
    const TensorInfo& a = (*legacy)->tensors()[i];
    const TensorInfo& b = (*v1)->tensors()[i];
    ASSERT_EQ(a.name, b.name);
    EXPECT_EQ(a.shape, b.shape) << a.name;
    EXPECT_EQ(a.dtype, WeightDType::kF32);
    params += static_cast<uint64_t>(a.num_elements());
    auto va = (*legacy)->ReadFloat32(a.name);
    auto vb = (*v1)->ReadFloat32(b.name);
    ASSERT_TRUE(va.ok() && vb.ok()) << a.name;
    ASSERT_EQ(*va, *vb) << a.name;
  }
  EXPECT_EQ(params, 260032u);  // SOURCE.txt: 260,032 trainable floats
  const TensorInfo* q = (*legacy)->Find("model.layers.0.self_attn.q_proj.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->shape, (std::vector<int64_t>{kDim, kDim}));
  EXPECT_EQ((*legacy)->Find("model.layers.4.self_attn.k_proj.weight")->shape,
            (std::vector<int64_t>{kKvDim, kDim}));
  EXPECT_EQ((*legacy)->Find("model.layers.4.mlp.down_proj.weight")->shape,
            (std::vector<int64_t>{kDim, kHidden}));
}

TEST(Llama2cTest, UnpermutedTensorsMatchFileBytes) {
  const LegacyFile file;
  ASSERT_EQ(file.size(), static_cast<size_t>(28 + 4 * file.end()));
  auto ckpt = Checkpoint::Open(Stories("stories260K.bin"));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  struct Case {
    const char* name;
    const char* array;
    int64_t layer_elements;
    int layer;
  };
  const Case cases[] = {
      {"model.embed_tokens.weight", "tok_embeddings", 0, 0},
      {"model.layers.1.mlp.up_proj.weight", "w3", kHidden * kDim, 1},
      {"model.layers.3.mlp.gate_proj.weight", "w1", kHidden * kDim, 3},
      {"model.layers.4.mlp.down_proj.weight", "w2", kDim * kHidden, 4},
      {"model.layers.2.self_attn.v_proj.weight", "wv", kKvDim * kDim, 2},
      {"model.layers.2.self_attn.o_proj.weight", "wo", kDim * kDim, 2},
      {"model.layers.0.input_layernorm.weight", "rms_att", kDim, 0},
      {"model.layers.4.post_attention_layernorm.weight", "rms_ffn", kDim, 4},
      {"model.norm.weight", "rms_final", 0, 0},
  };
  for (const Case& c : cases) {
    auto values = (*ckpt)->ReadFloat32(c.name);
    ASSERT_TRUE(values.ok()) << values.status().ToString();
    for (size_t i = 0; i < values->size(); ++i) {
      ASSERT_EQ((*values)[i],
                file.At(c.array, c.layer * c.layer_elements + static_cast<int64_t>(i)))
          << c.name << "[" << i << "]";
    }
    auto raw = (*ckpt)->RawBytes(c.name);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    EXPECT_EQ(raw->size(), values->size() * 4);
    EXPECT_EQ(std::memcmp(raw->data(), values->data(), raw->size()), 0) << c.name;
  }
  auto q_raw = (*ckpt)->RawBytes("model.layers.0.self_attn.q_proj.weight");
  ASSERT_FALSE(q_raw.ok());
  EXPECT_EQ(q_raw.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*ckpt)->Find("model.layers.0.self_attn.k_proj.weight")->raw_layout_differs);
}

// Rotates pairs (a[i], b[i]) of a head by angle m * theta^(-2i/head_dim) given cos/sin.
void Rotate(float* x0, float* x1, float c, float s) {
  const float a = *x0, b = *x1;
  *x0 = a * c - b * s;
  *x1 = a * s + b * c;
}

// The attention logits q_h . k_{h/2} at query position m and key position n, for layer 0:
//   llama2.c: q = Wq x with the file's rows, RoPE on adjacent pairs (2i, 2i+1) using the
//             cos/sin tables stored in the legacy file (freq_cis_real/imag);
//   HF:       q = Wq x with ReadFloat32's rows, RoPE with rotate_half, pairs (i, i+hd/2).
// Equal logits show the permutation maps one RoPE convention onto the other.
TEST(Llama2cTest, PermutedQkGiveSameRopeAttentionLogitsAsLlama2c) {
  const LegacyFile file;
  auto ckpt = Checkpoint::Open(Stories("stories260K.bin"));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  auto wq_hf = (*ckpt)->ReadFloat32("model.layers.0.self_attn.q_proj.weight");
  auto wk_hf = (*ckpt)->ReadFloat32("model.layers.0.self_attn.k_proj.weight");
  ASSERT_TRUE(wq_hf.ok() && wk_hf.ok());

  std::vector<float> x(kDim), y(kDim);
  for (int64_t i = 0; i < kDim; ++i) {
    x[i] = std::sin(0.37f * static_cast<float>(i) + 0.1f);
    y[i] = std::cos(0.23f * static_cast<float>(i) - 0.4f);
  }
  auto matvec = [&](auto weight, int64_t rows, const std::vector<float>& v) {
    std::vector<float> out(rows, 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < kDim; ++c) out[r] += weight(r * kDim + c) * v[c];
    }
    return out;
  };
  const int64_t m = 5, n = 2;
  auto cos_sin = [&](int64_t pos, int64_t i) {
    return std::pair<float, float>(file.At("freq_cis_real", pos * kHeadDim / 2 + i),
                                   file.At("freq_cis_imag", pos * kHeadDim / 2 + i));
  };
  // llama2.c convention.
  std::vector<float> q = matvec([&](int64_t e) { return file.At("wq", e); }, kDim, x);
  std::vector<float> k = matvec([&](int64_t e) { return file.At("wk", e); }, kKvDim, y);
  // HF convention, on ReadFloat32's rows; and, as a control, on the unpermuted rows.
  std::vector<float> q_hf = matvec([&](int64_t e) { return (*wq_hf)[e]; }, kDim, x);
  std::vector<float> k_hf = matvec([&](int64_t e) { return (*wk_hf)[e]; }, kKvDim, y);
  std::vector<float> q_ctl = q, k_ctl = k;
  auto rope_llama2c = [&](std::vector<float>& v, int64_t pos) {
    for (size_t h = 0; h < v.size() / kHeadDim; ++h) {
      for (int64_t i = 0; i < kHeadDim / 2; ++i) {
        auto [c, s] = cos_sin(pos, i);
        Rotate(&v[h * kHeadDim + 2 * i], &v[h * kHeadDim + 2 * i + 1], c, s);
      }
    }
  };
  auto rope_hf = [&](std::vector<float>& v, int64_t pos) {
    for (size_t h = 0; h < v.size() / kHeadDim; ++h) {
      for (int64_t i = 0; i < kHeadDim / 2; ++i) {
        auto [c, s] = cos_sin(pos, i);
        Rotate(&v[h * kHeadDim + i], &v[h * kHeadDim + i + kHeadDim / 2], c, s);
      }
    }
  };
  rope_llama2c(q, m);
  rope_llama2c(k, n);
  rope_hf(q_hf, m);
  rope_hf(k_hf, n);
  rope_hf(q_ctl, m);
  rope_hf(k_ctl, n);
  float max_control_diff = 0.0f;
  for (int64_t h = 0; h < kHeads; ++h) {
    const int64_t kv = h / (kHeads / kKvHeads);
    float s = 0, s_hf = 0, s_ctl = 0;
    for (int64_t d = 0; d < kHeadDim; ++d) {
      s += q[h * kHeadDim + d] * k[kv * kHeadDim + d];
      s_hf += q_hf[h * kHeadDim + d] * k_hf[kv * kHeadDim + d];
      s_ctl += q_ctl[h * kHeadDim + d] * k_ctl[kv * kHeadDim + d];
    }
    EXPECT_NEAR(s_hf, s, 1e-4f * (1.0f + std::fabs(s))) << "head " << h;
    max_control_diff = std::max(max_control_diff, std::fabs(s_ctl - s));
  }
  // Without the permutation the logits differ: the check above is not vacuous.
  EXPECT_GT(max_control_diff, 1e-2f);
}

// A tiny llama2.c file: dim 8, hidden 12, 2 layers, 2 heads, 1 kv head (head_dim 4),
// vocab 16, seq_len 4. Array number a (in file order) holds a * 10000 + flat index.
struct TinyLlama2c {
  static constexpr int32_t kDim = 8, kHidden = 12, kLayers = 2, kHeads = 2, kKv = 1, kVocab = 16,
                           kSeq = 4, kHeadDim = 4;
  std::vector<std::pair<std::string, int64_t>> arrays;  // name, element count, file order
  std::vector<uint8_t> bytes;

  TinyLlama2c(int version, bool shared) {
    const int64_t emb = kVocab * kDim, rms = kLayers * kDim, wq = kLayers * kDim * kDim,
                  wkv = kLayers * kHeadDim * kKv * kDim, ffn = kLayers * kHidden * kDim,
                  freq = kSeq * kHeadDim / 2;
    if (version == 0) {
      arrays = {{"tok_embeddings", emb},
                {"rms_att", rms},
                {"wq", wq},
                {"wk", wkv},
                {"wv", wkv},
                {"wo", wq},
                {"rms_ffn", rms},
                {"w1", ffn},
                {"w2", ffn},
                {"w3", ffn},
                {"rms_final", kDim},
                {"freq_cis_real", freq},
                {"freq_cis_imag", freq}};
      for (int32_t v : {kDim, kHidden, kLayers, kHeads, kKv, shared ? kVocab : -kVocab, kSeq}) {
        Append(&bytes, v);
      }
    } else {
      arrays = {{"rms_att", rms}, {"rms_ffn", rms}, {"rms_final", kDim}, {"tok_embeddings", emb},
                {"wq", wq},       {"wk", wkv},      {"wv", wkv},         {"wo", wq},
                {"w1", ffn},      {"w2", ffn},      {"w3", ffn}};
      Append<uint32_t>(&bytes, kLlama2cMagic);
      Append<int32_t>(&bytes, 1);
      for (int32_t v : {kDim, kHidden, kLayers, kHeads, kKv, kVocab, kSeq}) Append(&bytes, v);
      bytes.push_back(shared ? 1 : 0);
      bytes.resize(256, 0);
    }
    if (!shared) arrays.push_back({"wcls", emb});
    for (size_t a = 0; a < arrays.size(); ++a) {
      for (int64_t i = 0; i < arrays[a].second; ++i) {
        Append(&bytes, static_cast<float>(static_cast<int64_t>(a) * 10000 + i));
      }
    }
  }
  float Value(const std::string& array, int64_t index) const {
    for (size_t a = 0; a < arrays.size(); ++a) {
      if (arrays[a].first == array)
        return static_cast<float>(static_cast<int64_t>(a) * 10000 + index);
    }
    ADD_FAILURE() << "no array " << array;
    return 0;
  }
};

class TinyLlama2cTest : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(TinyLlama2cTest, NamesLayoutClassifierAndRowPermutation) {
  const auto [version, shared] = GetParam();
  const TinyLlama2c tiny(version, shared);
  ScratchDir dir;
  auto ckpt = Checkpoint::Open(dir.Write("tiny.bin", tiny.bytes));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  const Checkpoint& c = **ckpt;
  EXPECT_EQ(c.config()["tie_word_embeddings"], shared);
  EXPECT_EQ(c.config()["vocab_size"], TinyLlama2c::kVocab);
  EXPECT_EQ(c.tensors().size(), 2u + 9u * TinyLlama2c::kLayers + (shared ? 0u : 1u));

  auto expect_plain = [&](const std::string& name, const std::string& array, int64_t offset) {
    auto v = c.ReadFloat32(name);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    for (size_t i = 0; i < v->size(); ++i) {
      ASSERT_EQ((*v)[i], tiny.Value(array, offset + static_cast<int64_t>(i)))
          << name << "[" << i << "]";
    }
  };
  constexpr int64_t D = TinyLlama2c::kDim, F = TinyLlama2c::kHidden;
  expect_plain("model.embed_tokens.weight", "tok_embeddings", 0);
  expect_plain("model.norm.weight", "rms_final", 0);
  expect_plain("model.layers.1.input_layernorm.weight", "rms_att", D);
  expect_plain("model.layers.1.post_attention_layernorm.weight", "rms_ffn", D);
  expect_plain("model.layers.1.self_attn.v_proj.weight", "wv", 4 * D);
  expect_plain("model.layers.1.self_attn.o_proj.weight", "wo", D * D);
  expect_plain("model.layers.1.mlp.gate_proj.weight", "w1", F * D);
  expect_plain("model.layers.1.mlp.down_proj.weight", "w2", D * F);
  expect_plain("model.layers.1.mlp.up_proj.weight", "w3", F * D);
  if (shared) {
    EXPECT_EQ(c.Find("lm_head.weight"), nullptr);
  } else {
    expect_plain("lm_head.weight", "wcls", 0);
  }

  // HF permute with head_dim 4: view(heads, 2, 2, in).transpose(1, 2) puts the stored
  // rows of each head in the order 0, 2, 1, 3.
  auto expect_rows = [&](const std::string& name, const std::string& array, int64_t offset,
                         std::vector<int64_t> rows) {
    auto v = c.ReadFloat32(name);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ASSERT_EQ(v->size(), rows.size() * D);
    for (size_t r = 0; r < rows.size(); ++r) {
      for (int64_t col = 0; col < D; ++col) {
        ASSERT_EQ((*v)[r * D + col], tiny.Value(array, offset + rows[r] * D + col))
            << name << " row " << r << " col " << col;
      }
    }
  };
  expect_rows("model.layers.1.self_attn.q_proj.weight", "wq", D * D, {0, 2, 1, 3, 4, 6, 5, 7});
  expect_rows("model.layers.0.self_attn.k_proj.weight", "wk", 0, {0, 2, 1, 3});
}

INSTANTIATE_TEST_SUITE_P(VersionsAndClassifier, TinyLlama2cTest,
                         ::testing::Combine(::testing::Values(0, 1), ::testing::Bool()));

}  // namespace
}  // namespace liteq::io
