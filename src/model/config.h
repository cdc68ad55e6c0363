// ModelConfig: everything liteq needs to know about a decoder LLM's architecture,
// parsed from a Hugging Face config.json (transformers 5 keys such as
// `rope_parameters` and `layer_types`, and the older `rope_theta`, `rope_scaling`,
// `rope_local_base_freq`, `sliding_window_pattern`, `partial_rotary_factor`).
//
// Family defaults follow each family's transformers configuration class
// (configuration_<family>.py), so a config that omits a key means what it means to
// transformers.
#ifndef LITEQ_MODEL_CONFIG_H_
#define LITEQ_MODEL_CONFIG_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "liteq/status.h"

namespace liteq::model {

// Which architecture builder handles the model (one per src/model/<family>.cc).
enum class Family {
  kLlama,     // llama, mistral, qwen2, qwen3 (and llama2.c checkpoints)
  kGemma,     // gemma, gemma2, gemma3_text
  kPhi3,      // phi3: fused qkv_proj / gate_up_proj
  kPhi,       // phi (phi-2): LayerNorm with bias, parallel attention + MLP
  kStableLm,  // stablelm
  kFalcon,    // falcon (RoPE variants)
  kGemma3n,   // gemma3n_text: AltUp streams, per-layer embeddings, LAuReL, KV sharing
};
const char* FamilyName(Family f);

enum class NormKind {
  kRms,         // x * rsqrt(mean(x^2) + eps) * w
  kRmsPlusOne,  // Gemma: x * rsqrt(mean(x^2) + eps) * (1 + w)
  kLayerNorm,   // (x - mean) * rsqrt(var + eps) * w + b
};

enum class ActivationKind {
  kSilu,      // x * sigmoid(x)  ("silu", "swish")
  kGelu,      // exact erf GELU ("gelu")
  kGeluTanh,  // tanh approximation ("gelu_pytorch_tanh", "gelu_new", "gelu_fast")
  kRelu,      // "relu"
};

enum class AttentionKind {
  kFull,     // causal over the whole cache
  kSliding,  // causal, key j visible to query i iff i - sliding_window < j <= i
};

// One RoPE parameterisation (transformers modeling_rope_utils.py).
struct RopeConfig {
  std::string type = "default";  // "default", "linear" or "llama3"
  double theta = 10000.0;        // base of the inverse frequencies
  double factor = 1.0;           // linear / llama3: frequency divisor
  // llama3 only: wavelength band edges and the context the model was trained on.
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_position_embeddings = 8192;
  bool operator==(const RopeConfig&) const = default;
};

struct ModelConfig {
  std::string source;      // config file the values came from (for error messages)
  std::string model_type;  // config "model_type" as written ("llama", "gemma3_text"...)
  Family family = Family::kLlama;

  // ---- sizes ----
  int vocab_size = 0;               // rows of the embedding table and of the logits
  int hidden_size = 0;              // residual stream width
  int intermediate_size = 0;        // MLP inner width (falcon: ffn_hidden_size)
  int num_layers = 0;               // decoder layers (num_hidden_layers)
  int num_heads = 0;                // query heads
  int num_kv_heads = 0;             // key/value heads (GQA when < num_heads; 1 = MQA)
  int head_dim = 0;                 // per-head width (config head_dim or hidden/heads)
  int max_position_embeddings = 0;  // trained context (informational; 0 if absent)

  // ---- normalisation ----
  NormKind norm = NormKind::kRms;  // kind of every norm in the model
  float norm_eps = 1e-6f;          // epsilon added to the variance / mean square

  // ---- attention ----
  bool qkv_bias = false;         // q/k/v projections have biases
  bool o_bias = false;           // output projection has a bias
  bool qk_norm = false;          // per-head norm of q and k before RoPE (qwen3, gemma3)
  float attn_scale = 0.f;        // multiplier of q·k (head_dim^-0.5 or query_pre_attn_scalar^-0.5)
  float attn_logit_softcap = 0;  // gemma2: scores = cap * tanh(scores / cap); 0 = off
  int sliding_window = 0;        // window W of kSliding layers (0 = none)
  std::vector<AttentionKind> layer_types;  // per layer, size num_layers

  // ---- RoPE ----
  RopeConfig rope_full;     // RoPE of kFull layers
  RopeConfig rope_sliding;  // RoPE of kSliding layers (gemma3: local base frequency)
  int rotary_dim = 0;       // leading dims of each head that rotate (partial_rotary_factor)

  // ---- MLP ----
  ActivationKind activation = ActivationKind::kSilu;
  bool gated_mlp = true;  // down(act(gate(x)) * up(x)); false: fc2(act(fc1(x)))
  bool mlp_bias = false;  // MLP projections have biases

  // ---- block wiring ----
  // Attention and MLP read the same normalised input and their outputs are added to
  // the residual together (phi, falcon parallel_attn, stablelm use_parallel_residual).
  bool parallel_residual = false;
  // gemma2/gemma3: extra norms after attention and after the MLP (4 norms per layer).
  bool sandwich_norms = false;

  // ---- embeddings and head ----
  float embedding_scale = 1.f;       // gemma: sqrt(hidden_size) rounded to float
  bool tie_word_embeddings = false;  // lm head reuses the embedding table
  bool lm_head_bias = false;         // phi: lm_head has a bias
  float final_logit_softcap = 0;     // gemma2: logits = cap * tanh(logits / cap); 0 = off

  // ---- falcon ----
  bool falcon_multi_query = false;               // one shared K/V head, qkv = [q..., k, v]
  bool falcon_new_decoder_architecture = false;  // grouped qkv layout, ln_attn / ln_mlp
  int falcon_num_ln_in_parallel_attn = 1;        // 2: separate ln_attn and ln_mlp

  // ---- gemma3n_text (Gemma3nTextConfig, modeling_gemma3n.py) ----
  // Per-layer MLP width (config "intermediate_size" given as a list); empty when every
  // layer uses intermediate_size.
  std::vector<int> intermediate_sizes;
  // Per-layer target sparsity of the MLP gate ("activation_sparsity_pattern"): p > 0
  // keeps gate values above mean + std * Phi^-1(p) (Gemma3nTextMLP._gaussian_topk).
  std::vector<float> activation_sparsity;
  int altup_num_inputs = 0;             // AltUp residual streams (0 = no AltUp)
  int altup_active_idx = 0;             // the stream the layer's attention/MLP compute on
  float altup_coef_clip = 0;            // correction coefficients clamped to [-clip, clip]; 0 = off
  bool altup_correct_scale = false;     // active stream * correct_output_scale before the PLE gate
  int laurel_rank = 0;                  // LAuReL low-rank residual width
  int hidden_size_per_layer_input = 0;  // per-layer embedding (PLE) width of each layer
  int vocab_size_per_layer_input = 0;   // rows of embed_tokens_per_layer
  // The last num_kv_shared_layers layers compute no keys/values: they read the cache of
  // the last earlier layer of the same attention type (and own no cache tensors).
  int num_kv_shared_layers = 0;

  // ---- special tokens (-1 = absent) ----
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;  // config eos_token_id (int or list)
  int pad_token_id = -1;

  int group_size() const { return num_heads / num_kv_heads; }
  bool HasSliding() const;
  // MLP width of `layer` (intermediate_sizes[layer] when given).
  int IntermediateSize(int layer) const {
    return intermediate_sizes.empty() ? intermediate_size : intermediate_sizes[layer];
  }
  // The layer whose KV cache `layer` attends to: itself, or for a KV-shared layer the
  // last non-shared layer of the same type (Gemma3nTextAttention.kv_shared_layer_index);
  // -1 if there is none (ParseModelConfig rejects such configs).
  int KvCacheLayer(int layer) const;
  bool OwnsKvCache(int layer) const { return KvCacheLayer(layer) == layer; }
  const RopeConfig& RopeFor(int layer) const {
    return layer_types[layer] == AttentionKind::kSliding ? rope_sliding : rope_full;
  }

  // Everything above as JSON (written to the .tflite metadata as "liteq.config").
  nlohmann::json ToJson() const;
};

// Parses `config` (the contents of `source`, named in every error). Unknown model
// types and missing or ill-typed required keys are errors naming the key.
Result<ModelConfig> ParseModelConfig(const nlohmann::json& config, const std::string& source);

}  // namespace liteq::model

#endif  // LITEQ_MODEL_CONFIG_H_
