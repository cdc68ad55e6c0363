#include <nlohmann/json.hpp>

#include "model/config.h"

namespace liteq::model {
namespace {

using json = nlohmann::json;

const char* NormName(NormKind n) {
  switch (n) {
    case NormKind::kRms:
      return "rms";
    case NormKind::kRmsPlusOne:
      return "rms_plus_one";
    case NormKind::kLayerNorm:
      return "layer_norm";
  }
  return "?";
}

const char* ActivationName(ActivationKind a) {
  switch (a) {
    case ActivationKind::kSilu:
      return "silu";
    case ActivationKind::kGelu:
      return "gelu";
    case ActivationKind::kGeluTanh:
      return "gelu_tanh";
    case ActivationKind::kRelu:
      return "relu";
  }
  return "?";
}

json RopeJson(const RopeConfig& r) {
  json j = {{"type", r.type}, {"theta", r.theta}};
  if (r.type != "default") j["factor"] = r.factor;
  if (r.type == "llama3") {
    j["low_freq_factor"] = r.low_freq_factor;
    j["high_freq_factor"] = r.high_freq_factor;
    j["original_max_position_embeddings"] = r.original_max_position_embeddings;
  }
  return j;
}

}  // namespace

nlohmann::json ModelConfig::ToJson() const {
  json layers = json::array();
  for (AttentionKind t : layer_types) {
    layers.push_back(t == AttentionKind::kSliding ? "sliding_attention" : "full_attention");
  }
  json j = {
      {"model_type", model_type},
      {"family", FamilyName(family)},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_layers", num_layers},
      {"num_heads", num_heads},
      {"num_kv_heads", num_kv_heads},
      {"head_dim", head_dim},
      {"max_position_embeddings", max_position_embeddings},
      {"norm", NormName(norm)},
      {"norm_eps", norm_eps},
      {"qkv_bias", qkv_bias},
      {"o_bias", o_bias},
      {"qk_norm", qk_norm},
      {"attn_scale", attn_scale},
      {"attn_logit_softcap", attn_logit_softcap},
      {"sliding_window", sliding_window},
      {"layer_types", layers},
      {"rope_full", RopeJson(rope_full)},
      {"rope_sliding", RopeJson(rope_sliding)},
      {"rotary_dim", rotary_dim},
      {"activation", ActivationName(activation)},
      {"gated_mlp", gated_mlp},
      {"mlp_bias", mlp_bias},
      {"parallel_residual", parallel_residual},
      {"sandwich_norms", sandwich_norms},
      {"embedding_scale", embedding_scale},
      {"tie_word_embeddings", tie_word_embeddings},
      {"lm_head_bias", lm_head_bias},
      {"final_logit_softcap", final_logit_softcap},
      {"bos_token_id", bos_token_id},
      {"eos_token_ids", eos_token_ids},
      {"pad_token_id", pad_token_id},
  };
  if (family == Family::kFalcon) {
    j["falcon_multi_query"] = falcon_multi_query;
    j["falcon_new_decoder_architecture"] = falcon_new_decoder_architecture;
    j["falcon_num_ln_in_parallel_attn"] = falcon_num_ln_in_parallel_attn;
  }
  if (family == Family::kGemma3n) {
    j["intermediate_sizes"] = intermediate_sizes;
    j["activation_sparsity"] = activation_sparsity;
    j["altup_num_inputs"] = altup_num_inputs;
    j["altup_active_idx"] = altup_active_idx;
    j["altup_coef_clip"] = altup_coef_clip;
    j["altup_correct_scale"] = altup_correct_scale;
    j["laurel_rank"] = laurel_rank;
    j["hidden_size_per_layer_input"] = hidden_size_per_layer_input;
    j["vocab_size_per_layer_input"] = vocab_size_per_layer_input;
    j["num_kv_shared_layers"] = num_kv_shared_layers;
  }
  return j;
}

}  // namespace liteq::model
