// Hugging Face llama / gemma3 checkpoint -> GGUF for llama.cpp (see gguf_writer.h).
// Names, metadata keys and weight transforms follow llama.cpp's converter
// (convert_hf_to_gguf.py: LlamaModel, Gemma3Model) and gguf-py/gguf/constants.py.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "common/half.h"
#include "io/gguf_writer.h"

namespace liteq::io {
namespace {

enum class Arch { kLlama, kGemma3 };

struct Hparams {
  Arch arch = Arch::kLlama;
  std::string arch_name;
  int vocab = 0, hidden = 0, ffn = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0;
  int context = 0, sliding_window = 0;
  float rms_eps = 1e-6f;
  float rope_theta = 10000.f, rope_theta_sliding = 10000.f;
  int bos = -1, eos = -1, pad = -1;
};

// Reads an integer key; `fallback` < 0 makes the key required.
Status GetInt(const nlohmann::json& c, const std::string& source, const char* key, int fallback,
              int* out) {
  auto it = c.find(key);
  if (it == c.end() || it->is_null()) {
    if (fallback < 0) return InvalidArgumentError(source + ": config key '" + key + "' is missing");
    *out = fallback;
    return Status::Ok();
  }
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > (1 << 30)) {
    return InvalidArgumentError(source + ": config key '" + key +
                                "' is not a small non-negative integer");
  }
  *out = it->get<int>();
  return Status::Ok();
}

// A float key at `path` (nested objects), or `fallback` when absent, not a number or
// outside float's range (a cast of such a double to float would be undefined).
float GetNumber(const nlohmann::json& c, std::initializer_list<const char*> path, float fallback) {
  const nlohmann::json* node = &c;
  for (const char* key : path) {
    if (!node->is_object()) return fallback;
    auto it = node->find(key);
    if (it == node->end()) return fallback;
    node = &*it;
  }
  if (!node->is_number()) return fallback;
  const double v = node->get<double>();
  return std::isfinite(v) && std::fabs(v) <= 3.0e38 ? static_cast<float>(v) : fallback;
}

// A token id (an integer, or the first of a list), or -1.
int FirstId(const nlohmann::json& c, const char* key) {
  auto it = c.find(key);
  if (it == c.end()) return -1;
  const nlohmann::json* v = &*it;
  if (v->is_array() && !v->empty()) v = &(*v)[0];
  if (!v->is_number_integer()) return -1;
  const int64_t id = v->get<int64_t>();
  return id >= 0 && id < (int64_t{1} << 30) ? static_cast<int>(id) : -1;
}

Result<Hparams> ReadHparams(const Checkpoint& ckpt) {
  const auto& c = ckpt.config();
  const std::string source = ckpt.path() + "/config.json";
  Hparams h;
  const std::string type = c.value("model_type", std::string());
  if (type == "llama" || type == "mistral") {
    h.arch = Arch::kLlama;
    h.arch_name = "llama";
  } else if (type == "gemma3_text") {
    h.arch = Arch::kGemma3;
    h.arch_name = "gemma3";
  } else {
    return UnimplementedError(source +
                              ": GGUF export supports model_type llama, mistral and "
                              "gemma3_text, not '" +
                              type + "'");
  }
  LITEQ_RETURN_IF_ERROR(GetInt(c, source, "vocab_size", -1, &h.vocab));
  LITEQ_RETURN_IF_ERROR(GetInt(c, source, "hidden_size", -1, &h.hidden));
  LITEQ_RETURN_IF_ERROR(GetInt(c, source, "intermediate_size", -1, &h.ffn));
  LITEQ_RETURN_IF_ERROR(GetInt(c, source, "num_hidden_layers", -1, &h.layers));
  LITEQ_RETURN_IF_ERROR(GetInt(c, source, "num_attention_heads", -1, &h.heads));
  LITEQ_RETURN_IF_ERROR(GetInt(c, source, "num_key_value_heads", h.heads, &h.kv_heads));
  if (h.heads <= 0 || h.kv_heads <= 0 || h.heads % h.kv_heads != 0 || h.hidden <= 0) {
    return InvalidArgumentError(source +
                                ": head counts must be positive, heads a multiple of kv heads");
  }
  LITEQ_RETURN_IF_ERROR(GetInt(c, source, "head_dim", h.hidden / h.heads, &h.head_dim));
  LITEQ_RETURN_IF_ERROR(GetInt(c, source, "max_position_embeddings", 2048, &h.context));
  h.rms_eps = GetNumber(c, {"rms_norm_eps"}, 1e-6f);
  if (h.arch == Arch::kGemma3) {
    LITEQ_RETURN_IF_ERROR(GetInt(c, source, "sliding_window", 4096, &h.sliding_window));
    // transformers 5 nests per-layer-type RoPE under rope_parameters; older configs use
    // rope_theta and rope_local_base_freq (Gemma3TextConfig defaults 1e6 and 1e4).
    h.rope_theta = GetNumber(c, {"rope_parameters", "full_attention", "rope_theta"},
                             GetNumber(c, {"rope_theta"}, 1e6f));
    h.rope_theta_sliding = GetNumber(c, {"rope_parameters", "sliding_attention", "rope_theta"},
                                     GetNumber(c, {"rope_local_base_freq"}, 1e4f));
  } else {
    h.rope_theta =
        GetNumber(c, {"rope_parameters", "rope_theta"}, GetNumber(c, {"rope_theta"}, 1e4f));
  }
  h.bos = FirstId(c, "bos_token_id");
  h.eos = FirstId(c, "eos_token_id");
  h.pad = FirstId(c, "pad_token_id");
  if (h.head_dim % 2 != 0) return InvalidArgumentError(source + ": head_dim must be even for RoPE");
  return h;
}

// Synthetic SentencePiece vocabulary (see WriteCheckpointAsGguf): llama.cpp's "llama"
// tokenizer needs the byte tokens <0x00>..<0xFF> (it maps '\n' through <0x0A>).
void AddSyntheticVocabulary(const Hparams& h, GgufBuilder& g) {
  constexpr int32_t kNormal = 1, kUnknown = 2, kControl = 3, kByte = 6;  // gguf TokenType
  std::vector<std::string> tokens(h.vocab);
  std::vector<float> scores(h.vocab, 0.f);
  std::vector<int32_t> types(h.vocab, kNormal);
  std::set<int> special;
  auto mark = [&](int id, const char* text) {
    if (id < 0 || id >= h.vocab || special.count(id)) return;
    special.insert(id);
    tokens[id] = text;
    types[id] = kControl;
  };
  mark(h.bos, "<s>");
  mark(h.eos, "</s>");
  mark(h.pad, "<pad>");
  int next = 0;
  auto next_free = [&] {
    while (next < h.vocab && special.count(next)) ++next;
    return next < h.vocab ? next++ : -1;
  };
  const int unk = next_free();
  if (unk >= 0) {
    tokens[unk] = "<unk>";
    types[unk] = kUnknown;
  }
  for (int b = 0; b < 256; ++b) {
    const int id = next_free();
    if (id < 0) break;
    char text[8];
    std::snprintf(text, sizeof(text), "<0x%02X>", b);
    tokens[id] = text;
    types[id] = kByte;
  }
  for (int id = next_free(); id >= 0; id = next_free()) {
    tokens[id] =
        "\xE2\x96\x81t" + std::to_string(id);  // U+2581 marks a word start in SentencePiece
    scores[id] = -static_cast<float>(id);
  }
  g.AddString("tokenizer.ggml.model", "llama");
  g.AddString("tokenizer.ggml.pre", "default");
  g.AddStringArray("tokenizer.ggml.tokens", tokens);
  g.AddFloat32Array("tokenizer.ggml.scores", scores);
  g.AddInt32Array("tokenizer.ggml.token_type", types);
  if (h.bos >= 0 && h.bos < h.vocab) g.AddUint32("tokenizer.ggml.bos_token_id", h.bos);
  if (h.eos >= 0 && h.eos < h.vocab) g.AddUint32("tokenizer.ggml.eos_token_id", h.eos);
  if (unk >= 0) g.AddUint32("tokenizer.ggml.unknown_token_id", unk);
  if (h.pad >= 0 && h.pad < h.vocab) g.AddUint32("tokenizer.ggml.padding_token_id", h.pad);
  g.AddBool("tokenizer.ggml.add_bos_token", h.bos >= 0);
  g.AddBool("tokenizer.ggml.add_eos_token", false);
}

void AddHyperparameters(const Hparams& h, uint32_t file_type, const std::string& name,
                        GgufBuilder& g) {
  const std::string a = h.arch_name;
  g.AddString("general.architecture", a);
  g.AddString("general.name", name);
  g.AddUint32("general.file_type", file_type);
  g.AddUint32("general.quantization_version", 2);  // GGML_QNT_VERSION
  g.AddUint32(a + ".vocab_size", h.vocab);
  g.AddUint32(a + ".context_length", h.context);
  g.AddUint32(a + ".embedding_length", h.hidden);
  g.AddUint32(a + ".block_count", h.layers);
  g.AddUint32(a + ".feed_forward_length", h.ffn);
  g.AddUint32(a + ".attention.head_count", h.heads);
  g.AddUint32(a + ".attention.head_count_kv", h.kv_heads);
  // Written explicitly because head_dim may differ from hidden / heads (Gemma-3-270M:
  // 256 vs 640 / 4), which is llama.cpp's default for both.
  g.AddUint32(a + ".attention.key_length", h.head_dim);
  g.AddUint32(a + ".attention.value_length", h.head_dim);
  g.AddUint32(a + ".rope.dimension_count", h.head_dim);
  g.AddFloat32(a + ".rope.freq_base", h.rope_theta);
  g.AddFloat32(a + ".attention.layer_norm_rms_epsilon", h.rms_eps);
  if (h.arch == Arch::kGemma3) {
    g.AddUint32(a + ".attention.sliding_window", h.sliding_window);
    g.AddFloat32(a + ".rope.freq_base_swa", h.rope_theta_sliding);
  }
}

// How one HF tensor becomes a GGUF tensor.
struct Mapping {
  std::string gguf_name;
  int permute_heads = 0;  // llama q/k: rows regrouped for interleaved RoPE
  bool plus_one = false;  // gemma norms: llama.cpp multiplies by w, HF by 1 + w
};

Result<std::map<std::string, Mapping>> MapTensorNames(const Checkpoint& ckpt, const Hparams& h) {
  // Every layer owns several tensors: a larger count cannot be right (and would make
  // this map huge before the first missing tensor is noticed).
  if (static_cast<size_t>(h.layers) > ckpt.tensors().size()) {
    return InvalidArgumentError(ckpt.path() + ": num_hidden_layers " + std::to_string(h.layers) +
                                " exceeds the checkpoint's " + std::to_string(ckpt.tensors().size()) +
                                " tensors");
  }
  std::map<std::string, Mapping> map;
  const bool gemma = h.arch == Arch::kGemma3;
  map["model.embed_tokens.weight"] = {"token_embd.weight"};
  map["model.norm.weight"] = {"output_norm.weight", 0, gemma};
  if (ckpt.Find("lm_head.weight")) map["lm_head.weight"] = {"output.weight"};
  for (int l = 0; l < h.layers; ++l) {
    const std::string hf = "model.layers." + std::to_string(l) + ".";
    const std::string gg = "blk." + std::to_string(l) + ".";
    map[hf + "input_layernorm.weight"] = {gg + "attn_norm.weight", 0, gemma};
    map[hf + "self_attn.q_proj.weight"] = {gg + "attn_q.weight", gemma ? 0 : h.heads};
    map[hf + "self_attn.k_proj.weight"] = {gg + "attn_k.weight", gemma ? 0 : h.kv_heads};
    map[hf + "self_attn.v_proj.weight"] = {gg + "attn_v.weight"};
    map[hf + "self_attn.o_proj.weight"] = {gg + "attn_output.weight"};
    map[hf + "mlp.gate_proj.weight"] = {gg + "ffn_gate.weight"};
    map[hf + "mlp.up_proj.weight"] = {gg + "ffn_up.weight"};
    map[hf + "mlp.down_proj.weight"] = {gg + "ffn_down.weight"};
    if (gemma) {
      map[hf + "post_attention_layernorm.weight"] = {gg + "post_attention_norm.weight", 0, true};
      map[hf + "pre_feedforward_layernorm.weight"] = {gg + "ffn_norm.weight", 0, true};
      map[hf + "post_feedforward_layernorm.weight"] = {gg + "post_ffw_norm.weight", 0, true};
      map[hf + "self_attn.q_norm.weight"] = {gg + "attn_q_norm.weight", 0, true};
      map[hf + "self_attn.k_norm.weight"] = {gg + "attn_k_norm.weight", 0, true};
    } else {
      map[hf + "post_attention_layernorm.weight"] = {gg + "ffn_norm.weight"};
    }
  }
  for (const auto& [hf_name, m] : map) {
    if (!ckpt.Find(hf_name)) {
      return NotFoundError(ckpt.path() + ": tensor '" + hf_name + "' (for GGUF '" + m.gguf_name +
                           "') is missing");
    }
  }
  const auto& embed = ckpt.Find("model.embed_tokens.weight")->shape;
  if (embed != std::vector<int64_t>{h.vocab, h.hidden}) {
    return InvalidArgumentError(ckpt.path() + ": tensor 'model.embed_tokens.weight' is not [vocab_size, " +
                                "hidden_size] = [" + std::to_string(h.vocab) + ", " +
                                std::to_string(h.hidden) + "] as config.json says");
  }
  for (const auto& t : ckpt.tensors()) {
    if (!map.count(t.name)) {
      return UnimplementedError(ckpt.path() + ": tensor '" + t.name +
                                "' has no GGUF counterpart in the llama/gemma3 mapping");
    }
  }
  return map;
}

// LlamaModel.permute in convert_hf_to_gguf.py: HF stores each head's rows as
// [first halves of the rotated pairs..., second halves...] (rotate_half RoPE);
// llama.cpp's RoPE rotates adjacent pairs, so row (half, j) of a head moves to 2j + half.
std::vector<float> PermuteForInterleavedRope(const std::vector<float>& w, int heads, int64_t cols) {
  const int64_t rows = static_cast<int64_t>(w.size()) / cols;
  const int64_t head_rows = rows / heads, half = head_rows / 2;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t s = 0; s < 2; ++s) {
      for (int64_t j = 0; j < half; ++j) {
        const float* src = w.data() + (h * head_rows + s * half + j) * cols;
        std::copy(src, src + cols, out.data() + (h * head_rows + 2 * j + s) * cols);
      }
    }
  }
  return out;
}

}  // namespace

Status WriteCheckpointAsGguf(const Checkpoint& ckpt, const std::string& path,
                             const GgufOptions& options) {
  LITEQ_ASSIGN_OR_RETURN(Hparams h, ReadHparams(ckpt));
  LITEQ_ASSIGN_OR_RETURN(auto names, MapTensorNames(ckpt, h));
  GgufBuilder g;
  const uint32_t file_type = options.weight_type == GgufWeightType::kF32   ? 0   // ALL_F32
                             : options.weight_type == GgufWeightType::kF16 ? 1   // MOSTLY_F16
                                                                           : 7;  // MOSTLY_Q8_0
  AddHyperparameters(h, file_type, options.name, g);
  AddSyntheticVocabulary(h, g);

  // llama.cpp's own converter order: token_embd, the blocks, output_norm, output.
  std::vector<std::pair<std::string, Mapping>> order(names.begin(), names.end());
  auto rank = [](const std::string& gguf) {
    if (gguf.rfind("token_embd", 0) == 0) return std::pair<int, int>{0, 0};
    if (gguf.rfind("blk.", 0) == 0) return std::pair<int, int>{1, std::stoi(gguf.substr(4))};
    return std::pair<int, int>{gguf.rfind("output_norm", 0) == 0 ? 2 : 3, 0};
  };
  std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    return rank(a.second.gguf_name) < rank(b.second.gguf_name);
  });

  for (const auto& [hf_name, m] : order) {
    const TensorInfo* info = ckpt.Find(hf_name);
    if (info->shape.empty() || info->shape.size() > 2) {
      return InvalidArgumentError(ckpt.path() + ": tensor '" + hf_name + "' must be 1-D or 2-D");
    }
    std::vector<uint64_t> ne(info->shape.rbegin(), info->shape.rend());
    GgmlType type = GgmlType::kF32;
    if (info->shape.size() == 2) {
      type = options.weight_type == GgufWeightType::kF32   ? GgmlType::kF32
             : options.weight_type == GgufWeightType::kF16 ? GgmlType::kF16
                                                           : GgmlType::kQ8_0;
      if (type == GgmlType::kQ8_0 && ne[0] % kQ8_0BlockSize != 0) type = GgmlType::kF16;
    }
    if (m.permute_heads > 0 &&
        (info->shape.size() != 2 || info->shape[0] % (2 * m.permute_heads) != 0)) {
      return InvalidArgumentError(ckpt.path() + ": tensor '" + hf_name +
                                  "': rows are not a multiple of 2 x heads");
    }
    const Mapping mapping = m;
    const std::string name = hf_name;
    const int64_t cols = info->shape.size() == 2 ? info->shape[1] : info->shape[0];
    g.AddTensor(m.gguf_name, std::move(ne), type,
                [&ckpt, name, mapping, type, cols](std::span<uint8_t> out) -> Status {
                  LITEQ_ASSIGN_OR_RETURN(std::vector<float> w, ckpt.ReadFloat32(name));
                  if (mapping.permute_heads > 0)
                    w = PermuteForInterleavedRope(w, mapping.permute_heads, cols);
                  if (mapping.plus_one) {
                    for (float& x : w) x += 1.f;
                  }
                  switch (type) {
                    case GgmlType::kF32:
                      std::memcpy(out.data(), w.data(), w.size() * sizeof(float));
                      break;
                    case GgmlType::kF16:
                      for (size_t i = 0; i < w.size(); ++i) {
                        const uint16_t v = FloatToFp16(w[i]);
                        std::memcpy(out.data() + 2 * i, &v, 2);
                      }
                      break;
                    case GgmlType::kQ8_0:
                      QuantizeQ8_0(w, out);
                      break;
                  }
                  return Status::Ok();
                });
  }
  return g.Write(path);
}

}  // namespace liteq::io
