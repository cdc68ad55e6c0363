#include "model/config.h"

#include <cmath>
#include <utility>

#include "model/config_parse.h"

namespace liteq::model {
namespace {

using config_internal::Keys;
using config_internal::RopeDefaults;
using json = nlohmann::json;

Result<Family> FamilyOf(const std::string& model_type, const Keys& k) {
  if (model_type == "llama" || model_type == "mistral" || model_type == "qwen2" ||
      model_type == "qwen3") {
    return Family::kLlama;
  }
  if (model_type == "gemma" || model_type == "gemma2" || model_type == "gemma3_text") {
    return Family::kGemma;
  }
  if (model_type == "gemma3n_text") return Family::kGemma3n;
  if (model_type == "phi3") return Family::kPhi3;
  if (model_type == "phi") return Family::kPhi;
  if (model_type == "stablelm") return Family::kStableLm;
  if (model_type == "falcon") return Family::kFalcon;
  return Status(StatusCode::kUnimplemented,
                k.source() + ": model_type '" + model_type +
                    "' is not supported (supported: llama, mistral, qwen2, qwen3, gemma, gemma2, "
                    "gemma3_text, gemma3n_text, phi3, phi, stablelm, falcon)");
}

Result<ActivationKind> ParseActivation(const std::string& name, const Keys& k, const char* key) {
  if (name == "silu" || name == "swish") return ActivationKind::kSilu;
  if (name == "gelu") return ActivationKind::kGelu;
  if (name == "gelu_pytorch_tanh" || name == "gelu_new" || name == "gelu_fast" ||
      name == "gelu_tanh") {
    return ActivationKind::kGeluTanh;
  }
  if (name == "relu") return ActivationKind::kRelu;
  return Status(StatusCode::kUnimplemented,
                k.source() + ": key '" + key + "': activation '" + name + "' is not supported");
}

Status Validate(const ModelConfig& c, const Keys& k) {
  auto positive = [&](int v, const char* key) -> Status {
    if (v <= 0) return k.Error(key, "must be positive, got " + std::to_string(v));
    return Status::Ok();
  };
  LITEQ_RETURN_IF_ERROR(positive(c.vocab_size, "vocab_size"));
  LITEQ_RETURN_IF_ERROR(positive(c.hidden_size, "hidden_size"));
  LITEQ_RETURN_IF_ERROR(positive(c.intermediate_size, "intermediate_size"));
  LITEQ_RETURN_IF_ERROR(positive(c.num_layers, "num_hidden_layers"));
  LITEQ_RETURN_IF_ERROR(positive(c.num_heads, "num_attention_heads"));
  LITEQ_RETURN_IF_ERROR(positive(c.num_kv_heads, "num_key_value_heads"));
  LITEQ_RETURN_IF_ERROR(positive(c.head_dim, "head_dim"));
  if (c.num_heads % c.num_kv_heads != 0) {
    return k.Error("num_key_value_heads", "(" + std::to_string(c.num_kv_heads) +
                                              ") must divide num_attention_heads (" +
                                              std::to_string(c.num_heads) + ")");
  }
  if (c.rotary_dim <= 0 || c.rotary_dim % 2 != 0 || c.rotary_dim > c.head_dim) {
    return k.Error("partial_rotary_factor",
                   "gives " + std::to_string(c.rotary_dim) +
                       " rotary dims; need an even number in [2, head_dim=" +
                       std::to_string(c.head_dim) + "]");
  }
  if (!(c.norm_eps >= 0) || !std::isfinite(c.norm_eps)) {
    return k.Error("rms_norm_eps", "must be a finite non-negative number");
  }
  // Guard the products the builders form (weights are [out, in] int32 shapes).
  const int64_t big = int64_t{1} << 30;
  if (int64_t{c.vocab_size} * c.hidden_size >= big * 2 ||
      int64_t{c.num_heads} * c.head_dim >= big || int64_t{c.intermediate_size} * 2 >= big) {
    return k.Error("hidden_size", "gives tensor sizes that are too large");
  }
  return Status::Ok();
}

}  // namespace

const char* FamilyName(Family f) {
  switch (f) {
    case Family::kLlama:
      return "llama";
    case Family::kGemma:
      return "gemma";
    case Family::kPhi3:
      return "phi3";
    case Family::kPhi:
      return "phi";
    case Family::kStableLm:
      return "stablelm";
    case Family::kFalcon:
      return "falcon";
    case Family::kGemma3n:
      return "gemma3n";
  }
  return "?";
}

int ModelConfig::KvCacheLayer(int layer) const {
  const int first_shared = num_layers - num_kv_shared_layers;
  if (num_kv_shared_layers <= 0 || first_shared <= 0 || layer < first_shared) return layer;
  for (int j = first_shared - 1; j >= 0; --j) {
    if (layer_types[j] == layer_types[layer]) return j;
  }
  return -1;
}

bool ModelConfig::HasSliding() const {
  for (AttentionKind t : layer_types) {
    if (t == AttentionKind::kSliding) return true;
  }
  return false;
}

Result<ModelConfig> ParseModelConfig(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) return InvalidArgumentError(source + ": config is not a JSON object");
  const Keys k(j, source);
  ModelConfig c;
  c.source = source;
  if (!k.Has("model_type")) return k.Error("model_type", "is required but missing");
  LITEQ_ASSIGN_OR_RETURN(c.model_type, k.String("model_type", ""));
  LITEQ_ASSIGN_OR_RETURN(c.family, FamilyOf(c.model_type, k));
  const std::string& mt = c.model_type;
  const bool is_falcon = c.family == Family::kFalcon;
  const bool is_gemma3n = c.family == Family::kGemma3n;
  // gemma3n_text shares Gemma's embedding scaling, GeGLU and head defaults.
  const bool is_gemma = c.family == Family::kGemma || is_gemma3n;

  // ---- sizes ----
  LITEQ_ASSIGN_OR_RETURN(c.vocab_size, k.Int("vocab_size"));
  LITEQ_ASSIGN_OR_RETURN(c.hidden_size, k.Int("hidden_size"));
  if (is_falcon) {
    // FalconConfig also accepts the original n_layer / n_head names.
    LITEQ_ASSIGN_OR_RETURN(c.num_layers, k.Has("n_layer") && !k.Has("num_hidden_layers")
                                             ? k.Int("n_layer")
                                             : k.Int("num_hidden_layers"));
    LITEQ_ASSIGN_OR_RETURN(c.num_heads, k.Has("n_head") && !k.Has("num_attention_heads")
                                            ? k.Int("n_head")
                                            : k.Int("num_attention_heads"));
    LITEQ_ASSIGN_OR_RETURN(c.intermediate_size, k.Int("ffn_hidden_size", 4 * c.hidden_size));
  } else {
    LITEQ_ASSIGN_OR_RETURN(c.num_layers, k.Int("num_hidden_layers"));
    LITEQ_ASSIGN_OR_RETURN(c.num_heads, k.Int("num_attention_heads"));
    if (is_gemma3n) {
      LITEQ_RETURN_IF_ERROR(config_internal::ParseIntermediateSizes(j, k, &c));
    } else {
      LITEQ_ASSIGN_OR_RETURN(c.intermediate_size, k.Int("intermediate_size"));
    }
  }
  if (c.num_heads <= 0) return k.Error("num_attention_heads", "must be positive");
  LITEQ_ASSIGN_OR_RETURN(c.max_position_embeddings, k.Int("max_position_embeddings", 0));
  const int default_head_dim = is_gemma ? 256 : c.hidden_size / c.num_heads;
  // Falcon, phi and stablelm derive head_dim from hidden_size (no head_dim key).
  if (is_falcon || c.family == Family::kPhi || c.family == Family::kStableLm) {
    c.head_dim = c.hidden_size / c.num_heads;
    if (c.head_dim * c.num_heads != c.hidden_size) {
      return k.Error("num_attention_heads", "must divide hidden_size");
    }
  } else {
    LITEQ_ASSIGN_OR_RETURN(c.head_dim, k.Int("head_dim", default_head_dim));
  }

  // ---- attention heads ----
  if (is_falcon) {
    LITEQ_ASSIGN_OR_RETURN(c.falcon_new_decoder_architecture,
                           k.Bool("new_decoder_architecture", false));
    LITEQ_ASSIGN_OR_RETURN(c.falcon_multi_query, k.Bool("multi_query", true));
    LITEQ_ASSIGN_OR_RETURN(int kv, k.Int("num_kv_heads", c.num_heads));
    // FalconAttention: num_kv_heads if new_decoder_architecture or not multi_query, else 1.
    if (c.falcon_new_decoder_architecture) {
      c.num_kv_heads = kv;
    } else {
      c.num_kv_heads = c.falcon_multi_query ? 1 : c.num_heads;
    }
    LITEQ_ASSIGN_OR_RETURN(bool alibi, k.Bool("alibi", false));
    if (alibi) {
      return Status(StatusCode::kUnimplemented,
                    source + ": key 'alibi': falcon with ALiBi is not supported");
    }
    LITEQ_ASSIGN_OR_RETURN(c.parallel_residual, k.Bool("parallel_attn", true));
    LITEQ_ASSIGN_OR_RETURN(
        int num_ln, k.Int("num_ln_in_parallel_attn", c.falcon_new_decoder_architecture ? 2 : 1));
    c.falcon_num_ln_in_parallel_attn = num_ln;
    if (c.falcon_new_decoder_architecture && !c.parallel_residual) {
      return Status(StatusCode::kUnimplemented,
                    source +
                        ": key 'parallel_attn': falcon new_decoder_architecture without "
                        "parallel attention is not supported");
    }
  } else {
    LITEQ_ASSIGN_OR_RETURN(c.num_kv_heads, k.Int("num_key_value_heads", c.num_heads));
  }

  // ---- norms ----
  if (is_falcon) {
    c.norm = NormKind::kLayerNorm;
    LITEQ_ASSIGN_OR_RETURN(double eps, k.Number("layer_norm_epsilon", 1e-5));
    c.norm_eps = static_cast<float>(eps);
  } else if (c.family == Family::kPhi || c.family == Family::kStableLm) {
    c.norm = NormKind::kLayerNorm;
    LITEQ_ASSIGN_OR_RETURN(double eps, k.Number("layer_norm_eps", 1e-5));
    c.norm_eps = static_cast<float>(eps);
  } else {
    // Gemma3nRMSNorm multiplies by w itself, not (1 + w).
    c.norm = is_gemma && !is_gemma3n ? NormKind::kRmsPlusOne : NormKind::kRms;
    LITEQ_ASSIGN_OR_RETURN(double eps, k.Number("rms_norm_eps", 1e-6));
    c.norm_eps = static_cast<float>(eps);
  }

  // ---- activation / MLP ----
  {
    std::string act;
    if (is_falcon) {
      LITEQ_ASSIGN_OR_RETURN(act, k.String("activation", "gelu"));
      LITEQ_ASSIGN_OR_RETURN(c.activation, ParseActivation(act, k, "activation"));
    } else if (is_gemma && k.Has("hidden_activation")) {
      LITEQ_ASSIGN_OR_RETURN(act, k.String("hidden_activation", ""));
      LITEQ_ASSIGN_OR_RETURN(c.activation, ParseActivation(act, k, "hidden_activation"));
    } else {
      const char* fallback = is_gemma                   ? "gelu_pytorch_tanh"
                             : c.family == Family::kPhi ? "gelu_new"
                                                        : "silu";
      LITEQ_ASSIGN_OR_RETURN(act, k.String("hidden_act", fallback));
      LITEQ_ASSIGN_OR_RETURN(c.activation, ParseActivation(act, k, "hidden_act"));
    }
  }
  c.gated_mlp = !(is_falcon || c.family == Family::kPhi);

  // ---- biases, qk norm, wiring (per family, from configuration_<family>.py) ----
  if (mt == "llama" || mt == "qwen3" || is_gemma) {
    LITEQ_ASSIGN_OR_RETURN(c.qkv_bias, k.Bool("attention_bias", false));
    c.o_bias = c.qkv_bias;
  }
  if (mt == "llama") {
    LITEQ_ASSIGN_OR_RETURN(c.mlp_bias, k.Bool("mlp_bias", false));
  }
  if (mt == "qwen2") c.qkv_bias = true;  // Qwen2Attention: q/k/v bias=True, o_proj bias=False
  if (mt == "qwen3" || mt == "gemma3_text" || is_gemma3n) c.qk_norm = true;
  if (c.family == Family::kPhi) {
    c.qkv_bias = c.o_bias = c.mlp_bias = c.lm_head_bias = true;
    c.parallel_residual = true;
    LITEQ_ASSIGN_OR_RETURN(c.qk_norm, k.Bool("qk_layernorm", false));
  }
  if (c.family == Family::kStableLm) {
    LITEQ_ASSIGN_OR_RETURN(c.qkv_bias, k.Bool("use_qkv_bias", false));
    LITEQ_ASSIGN_OR_RETURN(c.parallel_residual, k.Bool("use_parallel_residual", false));
    LITEQ_ASSIGN_OR_RETURN(bool qk_layernorm, k.Bool("qk_layernorm", false));
    if (qk_layernorm) {
      return Status(StatusCode::kUnimplemented,
                    source +
                        ": key 'qk_layernorm': stablelm per-head q/k LayerNorm is not "
                        "supported");
    }
  }
  if (is_falcon) {
    LITEQ_ASSIGN_OR_RETURN(bool bias, k.Bool("bias", false));
    c.qkv_bias = c.o_bias = c.mlp_bias = bias;
  }
  if (mt == "gemma2" || mt == "gemma3_text" || is_gemma3n) c.sandwich_norms = true;

  // ---- sliding window ----
  if (k.Has("sliding_window")) {
    bool use = true;
    if (mt == "qwen2" || mt == "qwen3") {
      // Qwen2Config: sliding_window = sliding_window if use_sliding_window else None.
      LITEQ_ASSIGN_OR_RETURN(use, k.Bool("use_sliding_window", false));
    }
    if (use) {
      LITEQ_ASSIGN_OR_RETURN(c.sliding_window, k.Int("sliding_window"));
    }
  } else if (mt == "gemma2" || mt == "gemma3_text") {
    c.sliding_window = 4096;  // Gemma2Config / Gemma3TextConfig default
  } else if (is_gemma3n) {
    c.sliding_window = 512;  // Gemma3nTextConfig default
  }
  if (c.sliding_window < 0) return k.Error("sliding_window", "must be positive");
  LITEQ_RETURN_IF_ERROR(config_internal::ParseLayerTypes(j, k, &c));

  // ---- attention scale and soft-capping ----
  c.attn_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.head_dim)));
  if (mt == "gemma2" || mt == "gemma3_text") {
    LITEQ_ASSIGN_OR_RETURN(double q, k.Number("query_pre_attn_scalar", 256));
    if (q <= 0) return k.Error("query_pre_attn_scalar", "must be positive");
    c.attn_scale = static_cast<float>(std::pow(q, -0.5));
  }
  if (mt == "gemma2") {
    // Gemma2Config defaults: attn 50.0, final 30.0 (an explicit null disables).
    const double attn_default = j.contains("attn_logit_softcapping") ? 0.0 : 50.0;
    const double final_default = j.contains("final_logit_softcapping") ? 0.0 : 30.0;
    LITEQ_ASSIGN_OR_RETURN(double a, k.Number("attn_logit_softcapping", attn_default));
    LITEQ_ASSIGN_OR_RETURN(double f, k.Number("final_logit_softcapping", final_default));
    c.attn_logit_softcap = static_cast<float>(a);
    c.final_logit_softcap = static_cast<float>(f);
  } else if (mt == "gemma3_text") {
    LITEQ_ASSIGN_OR_RETURN(double a, k.Number("attn_logit_softcapping", 0));
    LITEQ_ASSIGN_OR_RETURN(double f, k.Number("final_logit_softcapping", 0));
    c.attn_logit_softcap = static_cast<float>(a);
    c.final_logit_softcap = static_cast<float>(f);
  }
  if (is_gemma3n) {
    // Gemma3nTextAttention: scaling = 1.0 (q and k are RMS-normalised per head).
    c.attn_scale = 1.0f;
    const double final_default = j.contains("final_logit_softcapping") ? 0.0 : 30.0;
    LITEQ_ASSIGN_OR_RETURN(double f, k.Number("final_logit_softcapping", final_default));
    c.final_logit_softcap = static_cast<float>(f);
  }
  if (c.attn_logit_softcap < 0 || c.final_logit_softcap < 0) {
    return k.Error("final_logit_softcapping", "must not be negative");
  }

  // ---- RoPE ----
  RopeDefaults rd;
  if (mt == "gemma3_text" || is_gemma3n) rd.theta = 1000000.0;
  if (c.family == Family::kPhi) rd.partial = 0.5;
  if (c.family == Family::kStableLm) rd.partial = 0.25;
  double partial = 1.0;
  LITEQ_RETURN_IF_ERROR(
      config_internal::ParseRope(j, k, rd, mt == "gemma3_text" || is_gemma3n, &c, &partial));
  if (!(partial > 0 && partial <= 1)) {
    return k.Error("partial_rotary_factor", "must be in (0, 1]");
  }
  // transformers: rotary dims = int(head_dim * partial_rotary_factor).
  c.rotary_dim = static_cast<int>(c.head_dim * partial);

  // ---- embeddings / head ----
  if (is_gemma) {
    c.embedding_scale = static_cast<float>(std::sqrt(static_cast<double>(c.hidden_size)));
  }
  LITEQ_ASSIGN_OR_RETURN(c.tie_word_embeddings,
                         k.Bool("tie_word_embeddings", is_gemma || is_falcon));

  // ---- special tokens ----
  LITEQ_ASSIGN_OR_RETURN(c.bos_token_id, k.Int("bos_token_id", -1));
  LITEQ_ASSIGN_OR_RETURN(c.eos_token_ids, config_internal::ParseTokenIds(k, j, "eos_token_id"));
  LITEQ_ASSIGN_OR_RETURN(c.pad_token_id, k.Int("pad_token_id", -1));

  if (is_gemma3n) LITEQ_RETURN_IF_ERROR(config_internal::ParseGemma3n(j, k, &c));

  LITEQ_RETURN_IF_ERROR(Validate(c, k));
  return c;
}

}  // namespace liteq::model
