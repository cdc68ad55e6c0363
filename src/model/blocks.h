// Building blocks shared by the family builders, expressed in TFLite builtin ops:
// norms, projections, activations, RoPE, attention over the KV cache and MLPs.
// Each follows the transformers implementation it names, op for op where the
// rounding matters.
#ifndef LITEQ_MODEL_BLOCKS_H_
#define LITEQ_MODEL_BLOCKS_H_

#include <string>
#include <string_view>

#include "model/architecture.h"

namespace liteq::model {

// Norm over the last axis of `x`, of the config's kind, with weights
// "<prefix>.weight" (and "<prefix>.bias" for LayerNorm when the checkpoint has it).
//   RMSNorm (LlamaRMSNorm):   x * rsqrt(mean(x^2) + eps) * w
//   Gemma (GemmaRMSNorm):     x * rsqrt(mean(x^2) + eps) * (1 + w)
//   LayerNorm (nn.LayerNorm): (x - mean) * rsqrt(mean((x - mean)^2) + eps) * w + b
TensorId Norm(DecoderContext& ctx, TensorId x, const std::string& prefix, std::string_view leaf);

// x · Wᵀ (+ bias): FULLY_CONNECTED with W [out, in] (the quantizer's hook).
// `bias.tensor` empty = no bias.
TensorId Linear(DecoderContext& ctx, TensorId x, const WeightSpec& weight, int out,
                const WeightSpec& bias, std::string_view leaf);

TensorId Activate(DecoderContext& ctx, TensorId x, ActivationKind act, std::string_view leaf);

// Rotates the first rotary_dim dims of every head of x [1, T, heads, head_dim]
// (transformers apply_rotary_pos_emb with rotate_half; partial rotary keeps the rest).
TensorId ApplyRope(DecoderContext& ctx, TensorId x, const RopeTensors& rope, std::string_view leaf);

struct AttentionWeights {
  WeightSpec q, k, v, o;                      // [out, in] projections
  WeightSpec q_bias, k_bias, v_bias, o_bias;  // empty tensor = no bias
  std::string q_norm, k_norm;                 // per-head norm prefixes ("" = none)
};

// Self-attention of layer `layer` on the normalised input x [1, T, hidden]: q/k/v
// projections, optional per-head q/k norm, RoPE, the KV-cache update, masked softmax
// attention (GQA) and the output projection. Returns [1, T, hidden].
TensorId SelfAttention(DecoderContext& ctx, int layer, TensorId x, const AttentionWeights& w);

// The attention core of layer `layer` (its kind's mask): q [1, T, heads, head_dim]
// (normed and rotated) is scaled by cfg.attn_scale (or soft-capped), attends to the
// caches [1, max_seq, kv_heads, head_dim] (GQA) and the heads are flattened to
// [1, T, heads * head_dim] (before the output projection).
TensorId AttendToCache(DecoderContext& ctx, int layer, TensorId q, TensorId k_cache,
                       TensorId v_cache);

struct MlpWeights {
  WeightSpec gate;  // empty tensor: plain MLP down(act(up(x)))
  WeightSpec up, down;
  WeightSpec gate_bias, up_bias, down_bias;  // empty tensor = no bias
};

// Gated: down(act(gate(x)) * up(x)); plain: down(act(up(x))).
TensorId Mlp(DecoderContext& ctx, TensorId x, const MlpWeights& w);

// "model.layers.3." style prefix helper.
std::string LayerPrefix(const std::string& base, int layer);

// The pre-norm block of Llama-style decoders (transformers LlamaDecoderLayer):
// x + attn(input_layernorm(x)), then + mlp(post_attention_layernorm(.)), with the norm
// weights under `layer_prefix`.
TensorId PreNormDecoderLayer(DecoderContext& ctx, int layer, TensorId x,
                             const std::string& layer_prefix, const AttentionWeights& aw,
                             const MlpWeights& mw);

// The transformers naming most families share, under `attn_prefix`
// ("model.layers.3.self_attn."): {q,k,v,o}_proj.weight, q/k/v biases when
// cfg.qkv_bias, o bias when cfg.o_bias, q_norm/k_norm when cfg.qk_norm.
AttentionWeights StandardAttentionWeights(const std::string& attn_prefix, const ModelConfig& cfg);

// {gate,up,down}_proj.weight under `mlp_prefix` ("model.layers.3.mlp."), with biases
// when `bias`.
MlpWeights StandardGatedMlpWeights(const std::string& mlp_prefix, bool bias);

}  // namespace liteq::model

#endif  // LITEQ_MODEL_BLOCKS_H_
