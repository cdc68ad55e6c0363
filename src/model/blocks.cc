#include "model/blocks.h"

namespace liteq::model {

using graph::GraphBuilder;

std::string LayerPrefix(const std::string& base, int layer) {
  return base + std::to_string(layer) + ".";
}

TensorId PreNormDecoderLayer(DecoderContext& ctx, int layer, TensorId x,
                             const std::string& p, const AttentionWeights& aw,
                             const MlpWeights& mw) {
  GraphBuilder& b = ctx.b;
  TensorId attn_out;
  {
    GraphBuilder::Scope scope(b, "attn");
    const TensorId h = Norm(ctx, x, p + "input_layernorm", "norm");
    attn_out = SelfAttention(ctx, layer, h, aw);
  }
  x = b.Add(x, attn_out, "attn_residual");
  TensorId mlp_out;
  {
    GraphBuilder::Scope scope(b, "mlp");
    const TensorId h = Norm(ctx, x, p + "post_attention_layernorm", "norm");
    mlp_out = Mlp(ctx, h, mw);
  }
  return b.Add(x, mlp_out, "mlp_residual");
}

AttentionWeights StandardAttentionWeights(const std::string& attn, const ModelConfig& cfg) {
  AttentionWeights aw;
  aw.q = {attn + "q_proj.weight"};
  aw.k = {attn + "k_proj.weight"};
  aw.v = {attn + "v_proj.weight"};
  aw.o = {attn + "o_proj.weight"};
  if (cfg.qkv_bias) {
    aw.q_bias = {attn + "q_proj.bias"};
    aw.k_bias = {attn + "k_proj.bias"};
    aw.v_bias = {attn + "v_proj.bias"};
  }
  if (cfg.o_bias) aw.o_bias = {attn + "o_proj.bias"};
  if (cfg.qk_norm) {
    aw.q_norm = attn + "q_norm";
    aw.k_norm = attn + "k_norm";
  }
  return aw;
}

MlpWeights StandardGatedMlpWeights(const std::string& mlp, bool bias) {
  MlpWeights mw;
  mw.gate = {mlp + "gate_proj.weight"};
  mw.up = {mlp + "up_proj.weight"};
  mw.down = {mlp + "down_proj.weight"};
  if (bias) {
    mw.gate_bias = {mlp + "gate_proj.bias"};
    mw.up_bias = {mlp + "up_proj.bias"};
    mw.down_bias = {mlp + "down_proj.bias"};
  }
  return mw;
}

TensorId Norm(DecoderContext& ctx, TensorId x, const std::string& prefix, std::string_view leaf) {
  GraphBuilder& b = ctx.b;
  const int32_t d = b.shape(x).empty() ? 0 : b.shape(x).back();
  const TensorId eps = b.ScalarFloat(ctx.cfg.norm_eps);
  TensorId normed;
  TensorId bias = -1;
  TensorId weight;
  {
    GraphBuilder::Scope scope(b, leaf);
    if (ctx.cfg.norm == NormKind::kLayerNorm) {
      // nn.LayerNorm: biased variance of the centred input.
      const TensorId mean = b.Mean(x, {-1}, true, "mean");
      const TensorId centred = b.Sub(x, mean, "centred");
      const TensorId var = b.Mean(b.Mul(centred, centred, "square"), {-1}, true, "var");
      normed = b.Mul(centred, b.Rsqrt(b.Add(var, eps, "var_eps"), "rsqrt"), "normed");
      weight = ctx.w.Get(prefix + ".weight", {d});
      bias = ctx.w.Optional(prefix + ".bias", {d});
    } else {
      // LlamaRMSNorm / GemmaRMSNorm: x * rsqrt(x.pow(2).mean(-1, keepdim) + eps).
      const TensorId ms = b.Mean(b.Mul(x, x, "square"), {-1}, true, "mean_square");
      normed = b.Mul(x, b.Rsqrt(b.Add(ms, eps, "ms_eps"), "rsqrt"), "normed");
      WeightSpec spec{prefix + ".weight"};
      if (ctx.cfg.norm == NormKind::kRmsPlusOne) spec.transform = WeightTransform::kPlusOne;
      weight = ctx.w.Get(spec, {d});
    }
    if (bias != -1) normed = b.Mul(normed, weight, "scaled");
  }
  if (bias != -1) return b.Add(normed, bias, leaf);
  return b.Mul(normed, weight, leaf);
}

TensorId Linear(DecoderContext& ctx, TensorId x, const WeightSpec& weight, int out,
                const WeightSpec& bias, std::string_view leaf) {
  GraphBuilder& b = ctx.b;
  const int32_t in = b.shape(x).empty() ? 0 : b.shape(x).back();
  const TensorId w = ctx.w.Get(weight, {out, in});
  const TensorId bias_t = bias.tensor.empty() ? -1 : ctx.w.Get(bias, {out});
  return b.FullyConnected(x, w, bias_t, /*keep_num_dims=*/true, leaf);
}

TensorId Activate(DecoderContext& ctx, TensorId x, ActivationKind act, std::string_view leaf) {
  GraphBuilder& b = ctx.b;
  switch (act) {
    case ActivationKind::kSilu: {
      TensorId sig;
      {
        GraphBuilder::Scope scope(b, leaf);
        sig = b.Logistic(x, "sigmoid");
      }
      return b.Mul(x, sig, leaf);  // nn.SiLU: x * sigmoid(x)
    }
    case ActivationKind::kGelu:
      return b.Gelu(x, /*approximate=*/false, leaf);
    case ActivationKind::kGeluTanh:
      return b.Gelu(x, /*approximate=*/true, leaf);
    case ActivationKind::kRelu:
      return b.Relu(x, leaf);
  }
  return x;
}

TensorId ApplyRope(DecoderContext& ctx, TensorId x, const RopeTensors& rope,
                   std::string_view leaf) {
  GraphBuilder& b = ctx.b;
  const graph::Shape s = b.shape(x);  // [1, T, heads, head_dim]
  const int rot = ctx.cfg.rotary_dim;
  const int half = rot / 2;
  const int hd = s.size() == 4 ? s[3] : 0;
  const bool partial = rot < hd;
  TensorId x_cos, swapped_sin, pass = -1, rotated = -1;
  {
    GraphBuilder::Scope scope(b, leaf);
    TensorId xr = x;
    if (partial) {
      xr = b.Slice(x, {0, 0, 0, 0}, {-1, -1, -1, rot}, "rot_part");
      pass = b.Slice(x, {0, 0, 0, rot}, {-1, -1, -1, -1}, "pass_part");
    }
    // q * cos + rotate_half(q) * sin, with rotate_half(q) * sin computed as
    // concat(x2, x1) * concat(-sin, sin): elementwise the same products.
    const TensorId x1 = b.Slice(xr, {0, 0, 0, 0}, {-1, -1, -1, half}, "x1");
    const TensorId x2 = b.Slice(xr, {0, 0, 0, half}, {-1, -1, -1, -1}, "x2");
    const TensorId swapped = b.Concat({x2, x1}, 3, "swapped");
    x_cos = b.Mul(xr, rope.cos, "x_cos");
    swapped_sin = b.Mul(swapped, rope.sin_signed, "swapped_sin");
    if (partial) rotated = b.Add(x_cos, swapped_sin, "rotated");
  }
  if (!partial) return b.Add(x_cos, swapped_sin, leaf);
  return b.Concat({rotated, pass}, 3, leaf);
}

TensorId AttendToCache(DecoderContext& ctx, int layer, TensorId q, TensorId k_cache,
                       TensorId v_cache) {
  GraphBuilder& b = ctx.b;
  const ModelConfig& cfg = ctx.cfg;
  const int heads = cfg.num_heads, kv = cfg.num_kv_heads, hd = cfg.head_dim;
  const int t = ctx.tokens, group = cfg.group_size();
  const int kind = static_cast<int>(cfg.layer_types[layer]);
  const float softcap = cfg.attn_logit_softcap;
  // (q·k) * scale == (q * scale)·k up to rounding; scaling q is T*hd multiplies
  // instead of T*max_seq. With soft-capping the scale is folded into 1/cap instead.
  if (softcap == 0 && cfg.attn_scale != 1.0f) {
    q = b.Mul(q, b.ScalarFloat(cfg.attn_scale), "q_scaled");
  }

  // GQA: query head h uses kv head h / group (transformers repeat_kv), so queries
  // regroup as [1, kv, group * T, hd] against keys [1, kv, S, hd].
  const TensorId keys = b.Transpose(k_cache, {0, 2, 1, 3}, "keys");
  const TensorId values = b.Transpose(v_cache, {0, 2, 1, 3}, "values");
  const TensorId qt = b.Transpose(q, {0, 2, 1, 3}, "q_t");
  const TensorId qg = b.Reshape(qt, {1, kv, group * t, hd}, "q_grouped");
  TensorId scores = b.BatchMatMul(qg, keys, false, true, "scores");
  if (softcap != 0) {
    // Gemma2: scores = tanh(scores * scaling / cap) * cap, before the mask.
    scores = b.Mul(scores, b.ScalarFloat(cfg.attn_scale / softcap), "scores_over_cap");
    scores = b.Tanh(scores, "scores_tanh");
    scores = b.Mul(scores, b.ScalarFloat(softcap), "scores_capped");
  }
  // The mask [T, S] broadcasts over heads; grouped rows (g, t) are viewed as
  // [kv, group, T, S] so it needs no per-group copy.
  const int s = ctx.max_seq;
  if (group > 1) scores = b.Reshape(scores, {kv, group, t, s}, "scores_by_group");
  scores = b.Add(scores, ctx.mask[kind], "masked_scores");
  TensorId probs = b.Softmax(scores, 1.0f, "probs");
  if (group > 1) probs = b.Reshape(probs, {1, kv, group * t, s}, "probs_grouped");
  TensorId out = b.BatchMatMul(probs, values, false, false, "context");
  out = b.Reshape(out, {1, heads, t, hd}, "context_heads");
  out = b.Transpose(out, {0, 2, 1, 3}, "context_t");
  return b.Reshape(out, {1, t, heads * hd}, "context_flat");
}

TensorId SelfAttention(DecoderContext& ctx, int layer, TensorId x, const AttentionWeights& w) {
  GraphBuilder& b = ctx.b;
  const ModelConfig& cfg = ctx.cfg;
  const int heads = cfg.num_heads, kv = cfg.num_kv_heads, hd = cfg.head_dim;
  const int t = ctx.tokens;
  const int kind = static_cast<int>(cfg.layer_types[layer]);

  TensorId q = Linear(ctx, x, w.q, heads * hd, w.q_bias, "q");
  TensorId k = Linear(ctx, x, w.k, kv * hd, w.k_bias, "k");
  const TensorId v = Linear(ctx, x, w.v, kv * hd, w.v_bias, "v");
  q = b.Reshape(q, {1, t, heads, hd}, "q_heads");
  k = b.Reshape(k, {1, t, kv, hd}, "k_heads");
  const TensorId v4 = b.Reshape(v, {1, t, kv, hd}, "v_heads");
  if (!w.q_norm.empty()) q = Norm(ctx, q, w.q_norm, "q_norm");
  if (!w.k_norm.empty()) k = Norm(ctx, k, w.k_norm, "k_norm");
  q = ApplyRope(ctx, q, ctx.rope[kind], "q_rope");
  k = ApplyRope(ctx, k, ctx.rope[kind], "k_rope");
  // The cache update: rows input_pos[0] .. input_pos[0] + T - 1 of [1, S, kv, hd].
  const TensorId k_cache =
      b.DynamicUpdateSlice(ctx.k_cache_in[layer], k, ctx.cache_start, "k_cache");
  const TensorId v_cache =
      b.DynamicUpdateSlice(ctx.v_cache_in[layer], v4, ctx.cache_start, "v_cache");
  ctx.k_cache_out[layer] = k_cache;
  ctx.v_cache_out[layer] = v_cache;

  const TensorId out = AttendToCache(ctx, layer, q, k_cache, v_cache);
  return Linear(ctx, out, w.o, cfg.hidden_size, w.o_bias, "o");
}

TensorId Mlp(DecoderContext& ctx, TensorId x, const MlpWeights& w) {
  GraphBuilder& b = ctx.b;
  const int inner = ctx.cfg.intermediate_size;
  TensorId h;
  if (!w.gate.tensor.empty()) {
    const TensorId gate = Linear(ctx, x, w.gate, inner, w.gate_bias, "gate");
    const TensorId up = Linear(ctx, x, w.up, inner, w.up_bias, "up");
    h = b.Mul(Activate(ctx, gate, ctx.cfg.activation, "act"), up, "gated");
  } else {
    h = Activate(ctx, Linear(ctx, x, w.up, inner, w.up_bias, "up"), ctx.cfg.activation, "act");
  }
  return Linear(ctx, h, w.down, ctx.cfg.hidden_size, w.down_bias, "down");
}

}  // namespace liteq::model
