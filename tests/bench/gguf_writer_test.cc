// GGUF writer: Q8_0 blocks against ggml's definition, and a synthetic checkpoint written
// as GGUF parsed back by an independent reader (tests/bench/gguf_reader.h).
#include "io/gguf_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "bench/synthetic_checkpoint.h"
#include "common/half.h"
#include "gguf_reader.h"
#include "io/checkpoint.h"

namespace liteq {
namespace {

using testing::GgufFile;
using testing::GgufParser;

std::string TempDir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("liteq_gguf_test_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

GgufFile ReadGguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  return GgufParser(std::move(bytes)).Parse();
}

// Dequantizes one Q8_0 block: x = fp16(d) * q.
void DequantizeBlock(const uint8_t* block, float* out, float* d_out) {
  uint16_t d16;
  std::memcpy(&d16, block, 2);
  const float d = Fp16ToFloat(d16);
  for (int i = 0; i < 32; ++i) out[i] = d * static_cast<int8_t>(block[2 + i]);
  *d_out = d;
}

TEST(Q8_0, BlocksMatchGgmlDefinition) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 0.02f);
  std::vector<float> x(32 * 64);
  for (float& v : x) v = normal(rng);
  for (int i = 0; i < 32; ++i) x[32 + i] = 0.f;              // block 1: all zero
  x[64 + 5] = -3.f;                                          // block 2: negative extreme
  for (int i = 0; i < 32; ++i) x[96 + i] = (i - 16) / 16.f;  // block 3: exact multiples
  std::vector<uint8_t> q(x.size() / 32 * io::kQ8_0BlockBytes);
  io::QuantizeQ8_0(x, q);
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[32 * b + i]));
    const float d = amax / 127.f;
    float deq[32], d_stored;
    DequantizeBlock(q.data() + b * io::kQ8_0BlockBytes, deq, &d_stored);
    EXPECT_EQ(d_stored, Fp16ToFloat(FloatToFp16(d))) << "block " << b;
    for (int i = 0; i < 32; ++i) {
      const int8_t qi = static_cast<int8_t>(q[b * io::kQ8_0BlockBytes + 2 + i]);
      const float ratio = d == 0 ? 0.f : x[32 * b + i] / d;
      // ggml multiplies by 1/d, which may land a hair off x/d: the two round alike
      // unless x/d is within float rounding of a .5 tie.
      if (std::fabs(std::fabs(ratio - std::trunc(ratio)) - 0.5f) > 1e-3f) {
        EXPECT_EQ(qi, std::round(ratio)) << "block " << b << " value " << i;
      } else {
        EXPECT_NEAR(qi, std::round(ratio), 1.0) << "block " << b << " value " << i;
      }
      // |x - fp16(d) q| <= |x - d q| + |d - fp16(d)| |q| <= d/2 + |d - fp16(d)| * 127.
      const float bound = d / 2 + std::fabs(d - d_stored) * 127 + 1e-7f;
      EXPECT_LE(std::fabs(deq[i] - x[32 * b + i]), bound) << "block " << b << " value " << i;
    }
  }
  EXPECT_EQ(static_cast<int8_t>(q[2 * io::kQ8_0BlockBytes + 2 + 5]),
            -127);  // the extreme maps to -127
  for (int i = 0; i < 32; ++i) EXPECT_EQ(q[io::kQ8_0BlockBytes + 2 + i], 0);
}

class SyntheticGgufTest : public ::testing::TestWithParam<std::string> {};

TEST(SyntheticCheckpoint, RealShapesMatchIssue) {
  // Dimensions listed in issue #6.
  auto g = bench::FindSynthShape("gemma3-270m");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->layers, 18);
  EXPECT_EQ(g->hidden, 640);
  EXPECT_EQ(g->ffn, 2048);
  EXPECT_EQ(g->heads, 4);
  EXPECT_EQ(g->kv_heads, 1);
  EXPECT_EQ(g->head_dim, 256);
  EXPECT_EQ(g->vocab, 262144);
  auto t = bench::FindSynthShape("tinyllama-1.1b");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->layers, 22);
  EXPECT_EQ(t->hidden, 2048);
  EXPECT_EQ(t->ffn, 5632);
  EXPECT_EQ(t->heads, 32);
  EXPECT_EQ(t->kv_heads, 4);
  EXPECT_EQ(t->vocab, 32000);
  // TinyLlama has 1.1B parameters, SmolLM2 135M, Gemma-3-270M 268M.
  EXPECT_NEAR(bench::SynthParameterCount(*t) / 1e9, 1.10, 0.01);
  auto s = bench::FindSynthShape("smollm2-135m");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->layers, 30);
  EXPECT_EQ(s->hidden, 576);
  EXPECT_EQ(s->ffn, 1536);
  EXPECT_EQ(s->heads, 9);
  EXPECT_EQ(s->kv_heads, 3);
  EXPECT_NEAR(bench::SynthParameterCount(*s) / 1e6, 134.5, 1.0);
  EXPECT_NEAR(bench::SynthParameterCount(*g) / 1e6, 268.1, 1.0);
  EXPECT_FALSE(bench::FindSynthShape("nope").ok());
}

TEST(SyntheticCheckpoint, DeterministicAndPlausibleValues) {
  auto shape = bench::FindSynthShape("llama-test");
  ASSERT_TRUE(shape.ok());
  const std::string a = TempDir("det_a"), b = TempDir("det_b"), c = TempDir("det_c");
  bench::SynthOptions options;
  options.seed = 42;
  options.models_dir = LITEQ_MODELS_DIR;
  ASSERT_TRUE(bench::WriteSyntheticCheckpoint(*shape, a, options).ok());
  ASSERT_TRUE(bench::WriteSyntheticCheckpoint(*shape, b, options).ok());
  options.seed = 43;
  ASSERT_TRUE(bench::WriteSyntheticCheckpoint(*shape, c, options).ok());
  auto ca = io::Checkpoint::Open(a), cb = io::Checkpoint::Open(b), cc = io::Checkpoint::Open(c);
  ASSERT_TRUE(ca.ok() && cb.ok() && cc.ok()) << ca.status().message();
  EXPECT_EQ((*ca)->config()["model_type"], "llama");
  EXPECT_EQ((*ca)->tensors().size(), bench::SynthTensors(*shape).size());
  for (const auto& t : bench::SynthTensors(*shape)) {
    const io::TensorInfo* info = (*ca)->Find(t.name);
    ASSERT_NE(info, nullptr) << t.name;
    EXPECT_EQ(info->shape, t.shape) << t.name;
    EXPECT_EQ(info->dtype, io::WeightDType::kBF16);
    auto va = (*ca)->ReadFloat32(t.name), vb = (*cb)->ReadFloat32(t.name),
         vc = (*cc)->ReadFloat32(t.name);
    ASSERT_TRUE(va.ok() && vb.ok() && vc.ok());
    EXPECT_EQ(*va, *vb) << t.name;  // same seed, same values
    EXPECT_NE(*va, *vc) << t.name;  // another seed, other values
    double sum = 0, sq = 0;
    for (float v : *va) {
      ASSERT_TRUE(std::isfinite(v));
      sum += v;
      sq += v * v;
    }
    const double mean = sum / va->size(), stddev = std::sqrt(sq / va->size() - mean * mean);
    if (t.is_norm) {
      EXPECT_NEAR(mean, 1.0, 0.02) << t.name;  // llama norms multiply by w
    } else {
      EXPECT_NEAR(mean, 0.0, 0.002) << t.name;
      EXPECT_NEAR(stddev, 0.02, 0.002) << t.name;
    }
  }
  // llama-test uses the fixtures' Llama 2 vocabulary, so its tokenizer is copied.
  EXPECT_EQ(
      std::filesystem::file_size(a + "/tokenizer.json"),
      std::filesystem::file_size(std::string(LITEQ_MODELS_DIR) + "/llama-tiny/tokenizer.json"));
  for (const auto& d : {a, b, c}) std::filesystem::remove_all(d);
}

// Reads `hf` from the checkpoint as the GGUF should hold it (after llama's q/k row
// permutation and Gemma's 1 + w), computed here from the definitions.
std::vector<float> ExpectedValues(const io::Checkpoint& ckpt, const std::string& hf, bool gemma,
                                  int heads) {
  auto v = ckpt.ReadFloat32(hf);
  EXPECT_TRUE(v.ok());
  std::vector<float> w = *v;
  if (gemma && hf.find("norm.weight") != std::string::npos) {
    for (float& x : w) x += 1.f;
  }
  if (heads > 0) {
    const auto& shape = ckpt.Find(hf)->shape;
    const int64_t cols = shape[1], head_rows = shape[0] / heads, half = head_rows / 2;
    std::vector<float> out(w.size());
    for (int64_t row = 0; row < shape[0]; ++row) {
      // GGUF row h*head_rows + 2j + s holds HF row h*head_rows + s*half + j.
      const int64_t h = row / head_rows, r = row % head_rows, j = r / 2, s = r % 2;
      std::copy_n(w.begin() + (h * head_rows + s * half + j) * cols, cols,
                  out.begin() + row * cols);
    }
    w = out;
  }
  return w;
}

TEST_P(SyntheticGgufTest, ParsesBackWithLlamaCppLayout) {
  const std::string shape_name = GetParam();
  auto shape = bench::FindSynthShape(shape_name);
  ASSERT_TRUE(shape.ok());
  const bool gemma = shape->family == bench::SynthFamily::kGemma3;
  const std::string dir = TempDir(shape_name);
  ASSERT_TRUE(bench::WriteSyntheticCheckpoint(*shape, dir, {}).ok());
  auto ckpt = io::Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();

  for (auto type : {io::GgufWeightType::kQ8_0, io::GgufWeightType::kF16}) {
    const bool q8 = type == io::GgufWeightType::kQ8_0;
    const std::string path = dir + (q8 ? "/q8_0.gguf" : "/f16.gguf");
    const Status written = io::WriteCheckpointAsGguf(**ckpt, path, {.weight_type = type});
    ASSERT_TRUE(written.ok()) << written.message();
    GgufFile f = ReadGguf(path);
    EXPECT_EQ(f.version, 3u);
    const std::string a = gemma ? "gemma3" : "llama";
    EXPECT_EQ(std::get<std::string>(f.kv.at("general.architecture")), a);
    EXPECT_EQ(std::get<int64_t>(f.kv.at("general.file_type")), q8 ? 7 : 1);
    EXPECT_EQ(std::get<int64_t>(f.kv.at(a + ".block_count")), shape->layers);
    EXPECT_EQ(std::get<int64_t>(f.kv.at(a + ".embedding_length")), shape->hidden);
    EXPECT_EQ(std::get<int64_t>(f.kv.at(a + ".feed_forward_length")), shape->ffn);
    EXPECT_EQ(std::get<int64_t>(f.kv.at(a + ".attention.head_count")), shape->heads);
    EXPECT_EQ(std::get<int64_t>(f.kv.at(a + ".attention.head_count_kv")), shape->kv_heads);
    EXPECT_EQ(std::get<int64_t>(f.kv.at(a + ".attention.key_length")), shape->head_dim);
    EXPECT_EQ(std::get<int64_t>(f.kv.at(a + ".context_length")), shape->max_position);
    EXPECT_EQ(f.kv_type.at(a + ".block_count"), 4u);  // u32, as llama.cpp reads it
    EXPECT_FLOAT_EQ(std::get<double>(f.kv.at(a + ".rope.freq_base")), shape->rope_theta);
    EXPECT_FLOAT_EQ(std::get<double>(f.kv.at(a + ".attention.layer_norm_rms_epsilon")),
                    static_cast<float>(shape->rms_eps));
    if (gemma) {
      EXPECT_EQ(std::get<int64_t>(f.kv.at(a + ".attention.sliding_window")), shape->sliding_window);
    }
    // Vocabulary: one entry per id, the 256 byte tokens, control tokens at bos/eos.
    const auto& tokens = std::get<std::vector<std::string>>(f.kv.at("tokenizer.ggml.tokens"));
    const auto& types = std::get<std::vector<int64_t>>(f.kv.at("tokenizer.ggml.token_type"));
    ASSERT_EQ(tokens.size(), static_cast<size_t>(shape->vocab));
    ASSERT_EQ(types.size(), tokens.size());
    EXPECT_EQ(std::get<std::vector<double>>(f.kv.at("tokenizer.ggml.scores")).size(),
              tokens.size());
    EXPECT_EQ(std::count(types.begin(), types.end(), 6), 256);
    EXPECT_NE(std::find(tokens.begin(), tokens.end(), "<0x0A>"), tokens.end());
    EXPECT_EQ(types[shape->bos], 3);
    EXPECT_EQ(types[shape->eos], 3);
    EXPECT_EQ(std::get<int64_t>(f.kv.at("tokenizer.ggml.bos_token_id")), shape->bos);

    // Tensors: llama.cpp names, ne reversed, 32-aligned increasing offsets, values.
    const size_t per_layer = gemma ? 13 : 9;
    EXPECT_EQ(f.tensors.size(), 2 + per_layer * shape->layers + (shape->tie_embeddings ? 0 : 1));
    EXPECT_EQ(f.tensor_order.front(), "token_embd.weight");
    uint64_t last_end = 0;
    for (const auto& name : f.tensor_order) {
      const auto& t = f.tensors.at(name);
      EXPECT_EQ(t.offset % 32, 0u) << name;
      EXPECT_GE(t.offset, last_end) << name;
      uint64_t n = 1;
      for (uint64_t d : t.ne) n *= d;
      last_end = t.offset + (t.type == 8 ? n / 32 * 34 : t.type == 1 ? n * 2 : n * 4);
    }
    EXPECT_LE(f.data_start + last_end, f.bytes.size());

    struct Check {
      std::string gguf, hf;
      int heads;
    };
    std::vector<Check> checks = {
        {"token_embd.weight", "model.embed_tokens.weight", 0},
        {"output_norm.weight", "model.norm.weight", 0},
        {"blk.1.attn_q.weight", "model.layers.1.self_attn.q_proj.weight", gemma ? 0 : shape->heads},
        {"blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight",
         gemma ? 0 : shape->kv_heads},
        {"blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight", 0},
        {"blk.0.attn_output.weight", "model.layers.0.self_attn.o_proj.weight", 0},
        {"blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight", 0},
        {"blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight", 0},
    };
    if (gemma) {
      checks.push_back({"blk.0.post_attention_norm.weight",
                        "model.layers.0.post_attention_layernorm.weight", 0});
      checks.push_back(
          {"blk.0.ffn_norm.weight", "model.layers.0.pre_feedforward_layernorm.weight", 0});
      checks.push_back(
          {"blk.0.post_ffw_norm.weight", "model.layers.0.post_feedforward_layernorm.weight", 0});
      checks.push_back({"blk.0.attn_q_norm.weight", "model.layers.0.self_attn.q_norm.weight", 0});
      EXPECT_EQ(f.tensors.count("output.weight"), 0u);  // tied: llama.cpp reuses token_embd
    } else {
      checks.push_back(
          {"blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight", 0});
      checks.push_back({"output.weight", "lm_head.weight", 0});
    }
    for (const auto& c : checks) {
      SCOPED_TRACE(c.gguf);
      ASSERT_EQ(f.tensors.count(c.gguf), 1u);
      const auto& t = f.tensors.at(c.gguf);
      const auto& hf_shape = (*ckpt)->Find(c.hf)->shape;
      ASSERT_EQ(t.ne.size(), hf_shape.size());
      for (size_t d = 0; d < hf_shape.size(); ++d)
        EXPECT_EQ(t.ne[d], static_cast<uint64_t>(hf_shape[hf_shape.size() - 1 - d]));
      const auto expected = ExpectedValues(**ckpt, c.hf, gemma, c.heads);
      const uint64_t n = expected.size();
      if (hf_shape.size() == 1) {
        ASSERT_EQ(t.type, 0u);  // norms stay F32
        auto data = f.Data(c.gguf, n * 4);
        std::vector<float> got(n);
        std::memcpy(got.data(), data.data(), n * 4);
        EXPECT_EQ(got, expected);
      } else if (q8) {
        ASSERT_EQ(t.type, 8u);
        auto data = f.Data(c.gguf, n / 32 * 34);
        for (uint64_t b = 0; b < n / 32; ++b) {
          float deq[32], d;
          DequantizeBlock(data.data() + b * 34, deq, &d);
          for (int i = 0; i < 32; ++i) {
            // Half a step of the fp32 scale, plus the fp16 rounding of the scale
            // (relative 2^-11) times |q| <= 127.
            ASSERT_LE(std::fabs(deq[i] - expected[32 * b + i]), d * (0.5f + 127.f / 2048.f) + 1e-7f)
                << "block " << b << " value " << i;
          }
        }
      } else {
        ASSERT_EQ(t.type, 1u);
        auto data = f.Data(c.gguf, n * 2);
        for (uint64_t i = 0; i < n; ++i) {
          uint16_t h;
          std::memcpy(&h, data.data() + 2 * i, 2);
          ASSERT_EQ(h, FloatToFp16(expected[i])) << i;
        }
      }
    }
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Shapes, SyntheticGgufTest, ::testing::Values("llama-test", "gemma3-test"));

TEST(GgufWriter, RejectsUnsupportedModelType) {
  auto shape = bench::FindSynthShape("llama-test");
  ASSERT_TRUE(shape.ok());
  const std::string dir = TempDir("phi");
  ASSERT_TRUE(bench::WriteSyntheticCheckpoint(*shape, dir, {}).ok());
  auto config = bench::SynthConfig(*shape);
  config["model_type"] = "phi";
  std::ofstream(dir + "/config.json") << config.dump();
  auto ckpt = io::Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok());
  const Status s = io::WriteCheckpointAsGguf(**ckpt, dir + "/x.gguf", {});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("phi"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.gguf"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace liteq
