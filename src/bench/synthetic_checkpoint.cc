// Synthetic checkpoints (see synthetic_checkpoint.h).
#include "bench/synthetic_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>

#include "common/atomic_file.h"
#include "common/half.h"
#include "common/mapped_file.h"

namespace liteq::bench {
namespace {

// Dimensions from the models' Hugging Face config.json files (issue #6 lists them).
std::vector<SynthShape> MakeShapes() {
  std::vector<SynthShape> s;
  SynthShape gemma;  // google/gemma-3-270m
  gemma.name = "gemma3-270m";
  gemma.family = SynthFamily::kGemma3;
  gemma.vocab = 262144, gemma.hidden = 640, gemma.ffn = 2048, gemma.layers = 18;
  gemma.heads = 4, gemma.kv_heads = 1, gemma.head_dim = 256, gemma.max_position = 32768;
  gemma.tie_embeddings = true, gemma.rope_theta = 1e6, gemma.rms_eps = 1e-6;
  gemma.bos = 2, gemma.eos = 1, gemma.pad = 0, gemma.sliding_window = 512;
  s.push_back(gemma);

  SynthShape tiny;  // TinyLlama/TinyLlama-1.1B-Chat-v1.0 (Llama 2 tokenizer)
  tiny.name = "tinyllama-1.1b";
  tiny.vocab = 32000, tiny.hidden = 2048, tiny.ffn = 5632, tiny.layers = 22;
  tiny.heads = 32, tiny.kv_heads = 4, tiny.head_dim = 64, tiny.max_position = 2048;
  tiny.tokenizer = "llama-tiny/tokenizer.json";
  s.push_back(tiny);

  SynthShape smol;  // HuggingFaceTB/SmolLM2-135M
  smol.name = "smollm2-135m";
  smol.vocab = 49152, smol.hidden = 576, smol.ffn = 1536, smol.layers = 30;
  smol.heads = 9, smol.kv_heads = 3, smol.head_dim = 64, smol.max_position = 8192;
  smol.tie_embeddings = true, smol.rope_theta = 100000, smol.bos = 0, smol.eos = 0;
  s.push_back(smol);

  SynthShape llama_test;  // tiny, for tests; the fixtures' Llama 2 vocabulary
  llama_test.name = "llama-test";
  llama_test.vocab = 32000, llama_test.hidden = 64, llama_test.ffn = 128, llama_test.layers = 2;
  llama_test.heads = 4, llama_test.kv_heads = 2, llama_test.head_dim = 16;
  llama_test.tokenizer = "llama-tiny/tokenizer.json";
  s.push_back(llama_test);

  SynthShape gemma_test = gemma;
  gemma_test.name = "gemma3-test";
  gemma_test.vocab = 32000, gemma_test.hidden = 64, gemma_test.ffn = 128, gemma_test.layers = 2;
  gemma_test.heads = 2, gemma_test.kv_heads = 1, gemma_test.head_dim = 32;
  gemma_test.max_position = 2048, gemma_test.bos = 1, gemma_test.eos = 2, gemma_test.pad = 0;
  gemma_test.sliding_window = 16;
  gemma_test.tokenizer = "llama-tiny/tokenizer.json";
  s.push_back(gemma_test);
  return s;
}

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// splitmix64 (Steele et al.): a fast generator whose stream depends only on the seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1].
  double Uniform() { return (static_cast<double>(Next() >> 11) + 1.0) * 0x1.0p-53; }
  // Two standard normal values (Box-Muller).
  void Normal2(float* a, float* b) {
    const double r = std::sqrt(-2.0 * std::log(Uniform()));
    const double t = 2.0 * std::numbers::pi * Uniform();
    *a = static_cast<float>(r * std::cos(t));
    *b = static_cast<float>(r * std::sin(t));
  }

 private:
  uint64_t state_;
};

void FillValues(const SynthTensor& t, bool gemma, uint64_t seed, std::span<float> out) {
  Rng rng(seed ^ Fnv1a(t.name));
  // Norm weights: llama multiplies by w (so ~1), gemma by 1 + w (so ~0).
  const float scale = t.is_norm ? 0.05f : 0.02f;
  const float offset = t.is_norm && !gemma ? 1.f : 0.f;
  for (size_t i = 0; i < out.size(); i += 2) {
    float a, b;
    rng.Normal2(&a, &b);
    out[i] = offset + scale * a;
    if (i + 1 < out.size()) out[i + 1] = offset + scale * b;
  }
}

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Status WriteSafetensors(const SynthShape& shape, const std::string& path, const SynthOptions& o) {
  const auto tensors = SynthTensors(shape);
  const size_t elem = o.dtype == SynthDType::kBF16 ? 2 : 4;
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const uint64_t bytes = Elements(t.shape) * elem;
    header[t.name] = {{"dtype", o.dtype == SynthDType::kBF16 ? "BF16" : "F32"},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  header["__metadata__"] = {{"format", "pt"}, {"generator", "liteq synth"}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  LITEQ_ASSIGN_OR_RETURN(auto file, AtomicFileWriter::Create(path));
  const uint64_t n = text.size();
  LITEQ_RETURN_IF_ERROR(file.Write(&n, 8));  // little-endian u64 on the supported hosts
  LITEQ_RETURN_IF_ERROR(file.Write(text.data(), text.size()));
  // Chunks bound the memory: TinyLlama's embedding alone is 65M values.
  constexpr int64_t kChunk = int64_t{1} << 22;
  std::vector<float> values;
  std::vector<uint16_t> bf16;
  const bool gemma = shape.family == SynthFamily::kGemma3;
  for (const auto& t : tensors) {
    const int64_t total = Elements(t.shape);
    for (int64_t start = 0; start < total; start += kChunk) {
      const int64_t count = std::min(kChunk, total - start);
      values.resize(count);
      // Each chunk draws from its own stream keyed by (seed, tensor, chunk start), so
      // a tensor's values never depend on which tensors were written before it.
      SynthTensor chunk = t;
      chunk.name = t.name + "#" + std::to_string(start);
      FillValues(chunk, gemma, o.seed, values);
      if (o.dtype == SynthDType::kBF16) {
        bf16.resize(count);
        for (int64_t i = 0; i < count; ++i) bf16[i] = FloatToBf16(values[i]);
        LITEQ_RETURN_IF_ERROR(file.Write(bf16.data(), bf16.size() * 2));
      } else {
        LITEQ_RETURN_IF_ERROR(file.Write(values.data(), values.size() * 4));
      }
    }
  }
  return file.Commit();
}

}  // namespace

const std::vector<SynthShape>& SynthShapes() {
  static const std::vector<SynthShape> shapes = MakeShapes();
  return shapes;
}

Result<SynthShape> FindSynthShape(const std::string& name) {
  std::string known;
  for (const auto& s : SynthShapes()) {
    if (s.name == name) return s;
    known += (known.empty() ? "" : ", ") + s.name;
  }
  return InvalidArgumentError("unknown shape '" + name + "' (known: " + known + ")");
}

nlohmann::json SynthConfig(const SynthShape& s) {
  nlohmann::json c = {
      {"vocab_size", s.vocab},
      {"hidden_size", s.hidden},
      {"intermediate_size", s.ffn},
      {"num_hidden_layers", s.layers},
      {"num_attention_heads", s.heads},
      {"num_key_value_heads", s.kv_heads},
      {"head_dim", s.head_dim},
      {"max_position_embeddings", s.max_position},
      {"rms_norm_eps", s.rms_eps},
      {"tie_word_embeddings", s.tie_embeddings},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"bos_token_id", s.bos},
      {"eos_token_id", s.eos},
      {"pad_token_id", s.pad >= 0 ? nlohmann::json(s.pad) : nlohmann::json(nullptr)},
      {"initializer_range", 0.02},
      {"use_cache", true},
      {"dtype", "bfloat16"},
      {"liteq_synthetic", s.name},
  };
  if (s.family == SynthFamily::kLlama) {
    c["model_type"] = "llama";
    c["architectures"] = {"LlamaForCausalLM"};
    c["hidden_act"] = "silu";
    c["mlp_bias"] = false;
    c["rope_parameters"] = {{"rope_theta", s.rope_theta}, {"rope_type", "default"}};
  } else {
    // Gemma3TextConfig: 5 sliding-window layers, then one global layer.
    c["model_type"] = "gemma3_text";
    c["architectures"] = {"Gemma3ForCausalLM"};
    c["hidden_activation"] = "gelu_pytorch_tanh";
    c["query_pre_attn_scalar"] = s.head_dim;
    c["sliding_window"] = s.sliding_window;
    c["attn_logit_softcapping"] = nullptr;
    c["final_logit_softcapping"] = nullptr;
    c["_sliding_window_pattern"] = 6;
    std::vector<std::string> types;
    for (int l = 0; l < s.layers; ++l) {
      types.push_back((l + 1) % 6 == 0 ? "full_attention" : "sliding_attention");
    }
    c["layer_types"] = types;
    c["rope_parameters"] = {
        {"full_attention", {{"rope_theta", s.rope_theta}, {"rope_type", "default"}}},
        {"sliding_attention", {{"rope_theta", 10000.0}, {"rope_type", "default"}}}};
  }
  return c;
}

std::vector<SynthTensor> SynthTensors(const SynthShape& s) {
  const int64_t h = s.hidden, q = int64_t{s.heads} * s.head_dim,
                kv = int64_t{s.kv_heads} * s.head_dim;
  std::vector<SynthTensor> t;
  t.push_back({"model.embed_tokens.weight", {s.vocab, h}});
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back({p + "input_layernorm.weight", {h}, true});
    t.push_back({p + "self_attn.q_proj.weight", {q, h}});
    t.push_back({p + "self_attn.k_proj.weight", {kv, h}});
    t.push_back({p + "self_attn.v_proj.weight", {kv, h}});
    t.push_back({p + "self_attn.o_proj.weight", {h, q}});
    t.push_back({p + "post_attention_layernorm.weight", {h}, true});
    if (s.family == SynthFamily::kGemma3) {
      t.push_back({p + "self_attn.q_norm.weight", {s.head_dim}, true});
      t.push_back({p + "self_attn.k_norm.weight", {s.head_dim}, true});
      t.push_back({p + "pre_feedforward_layernorm.weight", {h}, true});
      t.push_back({p + "post_feedforward_layernorm.weight", {h}, true});
    }
    t.push_back({p + "mlp.gate_proj.weight", {s.ffn, h}});
    t.push_back({p + "mlp.up_proj.weight", {s.ffn, h}});
    t.push_back({p + "mlp.down_proj.weight", {h, s.ffn}});
  }
  t.push_back({"model.norm.weight", {h}, true});
  if (!s.tie_embeddings) t.push_back({"lm_head.weight", {s.vocab, h}});
  return t;
}

int64_t SynthParameterCount(const SynthShape& shape) {
  int64_t n = 0;
  for (const auto& t : SynthTensors(shape)) n += Elements(t.shape);
  return n;
}

Status WriteSyntheticCheckpoint(const SynthShape& shape, const std::string& dir,
                                const SynthOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError(dir + ": cannot create directory: " + ec.message());
  LITEQ_RETURN_IF_ERROR(WriteSafetensors(shape, dir + "/model.safetensors", options));
  LITEQ_RETURN_IF_ERROR(
      WriteFileAtomically(dir + "/config.json", SynthConfig(shape).dump(2) + "\n"));
  const nlohmann::json generation = {{"bos_token_id", shape.bos}, {"eos_token_id", shape.eos}};
  LITEQ_RETURN_IF_ERROR(
      WriteFileAtomically(dir + "/generation_config.json", generation.dump(2) + "\n"));
  if (!shape.tokenizer.empty() && !options.models_dir.empty()) {
    const std::string source = options.models_dir + "/" + shape.tokenizer;
    if (std::filesystem::exists(source)) {
      LITEQ_ASSIGN_OR_RETURN(std::string text, ReadFileToString(source));
      LITEQ_RETURN_IF_ERROR(WriteFileAtomically(dir + "/tokenizer.json", text));
    }
  }
  return Status::Ok();
}

}  // namespace liteq::bench
