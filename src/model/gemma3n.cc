// Gemma 3n text decoder (transformers modeling_gemma3n.py, Gemma3nForCausalLM with
// model_type gemma3n_text), in TFLite builtin ops:
//   * AltUp: the residual is altup_num_inputs streams, held as one [N, T, hidden]
//     tensor. Stream 0 is the scaled embedding, the others are projections of it
//     rescaled to its RMS magnitude. Each layer predicts all streams from a
//     router-weighted mix (predict), computes on the active stream, and propagates
//     the result to every stream (correct). At the end the streams are projected back,
//     rescaled and averaged.
//   * Per-layer embeddings (PLE): a second token table [vocab_per_layer, L * P] plus a
//     projection of the main embedding give each layer a [T, P] input that gates a
//     low-rank update added to streams 1..N-1.
//   * LAuReL: a rank-laurel_rank residual branch next to attention.
//   * Activation sparsity: the MLP gate keeps values above mean + std * Phi^-1(p).
//   * KV sharing: the last num_kv_shared_layers layers attend to an earlier layer's cache.
//   * q/k RMSNorm with weights, v RMSNorm without; attention scale 1; plain (w, not
//     1 + w) RMSNorm everywhere; final logit soft-capping (decoder.cc).
#include <cmath>

#include "model/blocks.h"

namespace liteq::model {
namespace {

using graph::GraphBuilder;

// Phi^-1(p) of the standard normal (torch Normal(0, 1).icdf), by bisection on
// 0.5 * erfc(-z / sqrt(2)) in double: exact to double precision, then rounded to
// float as Gemma3nTextMLP casts it to the activation dtype.
float NormalQuantile(double p) {
  double lo = -40.0, hi = 40.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return static_cast<float>(0.5 * (lo + hi));
}

class Gemma3nArchitecture : public Architecture {
 public:
  explicit Gemma3nArchitecture(const ModelConfig& cfg) : cfg_(cfg) {}

  TopLevelNames names() const override {
    return {"model.embed_tokens.weight", "model.norm", "lm_head.weight", ""};
  }

  // Gemma3nTextModel.forward before the layer loop: per-layer inputs and the AltUp
  // streams.
  TensorId BeforeLayers(DecoderContext& ctx, TensorId x0) const override {
    GraphBuilder& b = ctx.b;
    BuildPerLayerInputs(ctx, x0);
    GraphBuilder::Scope scope(b, "altup_embed");
    std::vector<TensorId> streams = {x0};
    const TensorId target = Magnitude(ctx, x0, "target_magnitude");
    for (int i = 1; i < cfg_.altup_num_inputs; ++i) {
      const TensorId p =
          Linear(ctx, x0, {"model.altup_projections." + std::to_string(i - 1) + ".weight"},
                 cfg_.hidden_size, {}, "proj" + std::to_string(i));
      streams.push_back(Rescale(ctx, p, target, "stream" + std::to_string(i)));
    }
    return streams.size() == 1 ? x0 : b.Concat(streams, 0, "streams");
  }

  // Gemma3nTextModel.forward after the layer loop: unembed streams 1..N-1, rescale
  // them to stream 0's magnitude and average.
  TensorId AfterLayers(DecoderContext& ctx, TensorId s) const override {
    GraphBuilder& b = ctx.b;
    GraphBuilder::Scope scope(b, "altup_unembed");
    const int n = cfg_.altup_num_inputs;
    if (n == 1) return s;
    const TensorId s0 = Stream(ctx, s, 0, "stream0");
    const TensorId target = Magnitude(ctx, s0, "target_magnitude");
    std::vector<TensorId> streams = {s0};
    for (int i = 1; i < n; ++i) {
      const TensorId u =
          Linear(ctx, Stream(ctx, s, i, "in" + std::to_string(i)),
                 {"model.altup_unembed_projections." + std::to_string(i - 1) + ".weight"},
                 cfg_.hidden_size, {}, "proj" + std::to_string(i));
      streams.push_back(Rescale(ctx, u, target, "stream" + std::to_string(i)));
    }
    return b.Mean(b.Concat(streams, 0, "stacked"), {0}, /*keep_dims=*/true, "mean");
  }

  // Gemma3nTextDecoderLayer.forward on the streams [N, T, hidden].
  TensorId Layer(DecoderContext& ctx, int layer, TensorId s) const override {
    GraphBuilder& b = ctx.b;
    const std::string p = LayerPrefix("model.layers.", layer);
    const int a = cfg_.altup_active_idx;
    const TensorId pred = Predict(ctx, p + "altup.", s);
    const TensorId active = Stream(ctx, pred, a, "active");
    const TensorId normed = Norm(ctx, active, p + "input_layernorm", "input_norm");
    const TensorId laurel = Laurel(ctx, p + "laurel.", normed);
    TensorId attn;
    {
      GraphBuilder::Scope scope(b, "attn");
      attn = Attention(ctx, layer, p + "self_attn.", normed);
      attn = Norm(ctx, attn, p + "post_attention_layernorm", "post_norm");
    }
    const TensorId gated = b.Add(active, attn, "attn_residual");
    // (attn_gated + laurel_output) / math.sqrt(2)
    const TensorId attn_laurel =
        b.Div(b.Add(gated, laurel, "attn_laurel_sum"),
              b.ScalarFloat(static_cast<float>(std::sqrt(2.0))), "attn_laurel");
    TensorId ffw;
    {
      GraphBuilder::Scope scope(b, "mlp");
      ffw = Norm(ctx, attn_laurel, p + "pre_feedforward_layernorm", "norm");
      ffw = Mlp(ctx, layer, p + "mlp.", ffw);
      ffw = Norm(ctx, ffw, p + "post_feedforward_layernorm", "post_norm");
    }
    const TensorId activated = b.Add(attn_laurel, ffw, "mlp_residual");
    const TensorId corrected = Correct(ctx, p + "altup.", pred, activated);
    return AddPerLayerInput(ctx, layer, p, corrected);
  }

 private:
  // Stream i of s [N, T, hidden] as [1, T, hidden].
  static TensorId Stream(DecoderContext& ctx, TensorId s, int i, std::string_view leaf) {
    if (ctx.cfg.altup_num_inputs == 1) return s;
    return ctx.b.Slice(s, {i, 0, 0}, {1, -1, -1}, leaf);
  }

  // sqrt(mean(x^2)) over the last axis, kept as [.., 1].
  static TensorId Magnitude(DecoderContext& ctx, TensorId x, std::string_view leaf) {
    GraphBuilder& b = ctx.b;
    GraphBuilder::Scope scope(b, leaf);
    return b.Sqrt(b.Mean(b.Mul(x, x, "square"), {-1}, true, "mean_square"), "sqrt");
  }

  // x * target / sqrt(max(mean(x^2), 1e-5)) (the AltUp stream rescaling).
  static TensorId Rescale(DecoderContext& ctx, TensorId x, TensorId target, std::string_view leaf) {
    GraphBuilder& b = ctx.b;
    TensorId scaled, magnitude;
    {
      GraphBuilder::Scope scope(b, leaf);
      const TensorId ms = b.Mean(b.Mul(x, x, "square"), {-1}, true, "mean_square");
      magnitude = b.Sqrt(b.Maximum(ms, b.ScalarFloat(1e-5f), "clamped"), "magnitude");
      scaled = b.Mul(x, target, "times_target");
    }
    return b.Div(scaled, magnitude, leaf);
  }

  // Gemma3nTextModel.get_per_layer_inputs + project_per_layer_inputs: one
  // [1, T, P] input per layer in ctx.per_layer_inputs.
  void BuildPerLayerInputs(DecoderContext& ctx, TensorId x0) const {
    GraphBuilder& b = ctx.b;
    GraphBuilder::Scope scope(b, "per_layer_inputs");
    const int layers = cfg_.num_layers, pdim = cfg_.hidden_size_per_layer_input;
    const int t = ctx.tokens;
    const TensorId table = ctx.w.Get("model.embed_tokens_per_layer.weight",
                                     {cfg_.vocab_size_per_layer_input, layers * pdim});
    TensorId embedded = b.Gather(table, ctx.token_ids, 0, "lookup");
    embedded =
        b.Mul(embedded, b.ScalarFloat(static_cast<float>(std::sqrt(static_cast<double>(pdim)))),
              "embedding");
    embedded = b.Reshape(embedded, {1, t, layers, pdim}, "embedding_by_layer");
    TensorId proj =
        Linear(ctx, x0, {"model.per_layer_model_projection.weight"}, layers * pdim, {}, "proj");
    proj = b.Mul(
        proj,
        b.ScalarFloat(static_cast<float>(1.0 / std::sqrt(static_cast<double>(cfg_.hidden_size)))),
        "proj_scaled");
    proj = b.Reshape(proj, {1, t, layers, pdim}, "proj_by_layer");
    proj = Norm(ctx, proj, "model.per_layer_projection_norm", "proj_norm");
    const TensorId combined =
        b.Mul(b.Add(proj, embedded, "sum"), b.ScalarFloat(static_cast<float>(1.0 / std::sqrt(2.0))),
              "combined");
    ctx.per_layer_inputs.clear();
    for (int i = 0; i < layers; ++i) {
      const std::string n = std::to_string(i);
      const TensorId slice = b.Slice(combined, {0, 0, i, 0}, {1, t, 1, pdim}, "layer" + n);
      ctx.per_layer_inputs.push_back(b.Reshape(slice, {1, t, pdim}, "input" + n));
    }
  }

  // Gemma3nTextAltUp.compute_router_modalities: tanh(router(norm(x) / hidden)) [1, T, N].
  TensorId Router(DecoderContext& ctx, const std::string& altup, TensorId x,
                  std::string_view leaf) const {
    GraphBuilder& b = ctx.b;
    GraphBuilder::Scope scope(b, leaf);
    TensorId r = Norm(ctx, x, altup + "router_norm", "norm");
    r = b.Mul(r, b.ScalarFloat(1.0f / static_cast<float>(cfg_.hidden_size)), "scaled");
    r = Linear(ctx, r, {altup + "modality_router.weight"}, cfg_.altup_num_inputs, {}, "router");
    return b.Tanh(r, "tanh");
  }

  // Gemma3nTextAltUp.predict: stream j + sum_k coef[t, j, k] * stream k.
  TensorId Predict(DecoderContext& ctx, const std::string& altup, TensorId s) const {
    GraphBuilder& b = ctx.b;
    const int n = cfg_.altup_num_inputs, t = ctx.tokens;
    GraphBuilder::Scope scope(b, "altup_predict");
    const TensorId modalities =
        Router(ctx, altup, Stream(ctx, s, cfg_.altup_active_idx, "active_in"), "modalities");
    TensorId coefs =
        Linear(ctx, modalities, {altup + "prediction_coefs.weight"}, n * n, {}, "coefs");
    coefs = b.Reshape(coefs, {t, n, n}, "coefs_matrix");              // [t, j, k]
    const TensorId by_token = b.Transpose(s, {1, 0, 2}, "by_token");  // [T, N, hidden]
    const TensorId mixed = b.BatchMatMul(coefs, by_token, false, false, "mixed");
    return b.Add(b.Transpose(mixed, {1, 0, 2}, "mixed_streams"), s, "predictions");
  }

  // Gemma3nTextAltUp.correct: predictions + (activated - predictions[active]) *
  // (correction_coefs(router(activated)) + 1), per stream.
  TensorId Correct(DecoderContext& ctx, const std::string& altup, TensorId pred,
                   TensorId activated) const {
    GraphBuilder& b = ctx.b;
    const int n = cfg_.altup_num_inputs, t = ctx.tokens;
    GraphBuilder::Scope scope(b, "altup_correct");
    const TensorId modalities = Router(ctx, altup, activated, "modalities");
    const TensorId innovation =
        b.Sub(activated, Stream(ctx, pred, cfg_.altup_active_idx, "active_pred"), "innovation");
    TensorId w = ctx.w.Get(altup + "correction_coefs.weight", {n, n});
    if (cfg_.altup_coef_clip > 0) {
      // correct() clamps correction_coefs to [-altup_coef_clip, altup_coef_clip].
      const float clip = cfg_.altup_coef_clip;
      w = b.Maximum(b.Minimum(w, b.ScalarFloat(clip), "clip_high"), b.ScalarFloat(-clip),
                    "clipped_coefs");
    }
    TensorId coefs = b.FullyConnected(modalities, w, -1, true, "coefs");
    coefs = b.Add(coefs, b.ScalarFloat(1.0f), "coefs_plus_one");  // [1, T, N]
    coefs = b.Reshape(b.Transpose(b.Reshape(coefs, {t, n}, "coefs_tn"), {1, 0}, "coefs_nt"),
                      {n, t, 1}, "coefs_per_stream");
    return b.Add(b.Mul(innovation, coefs, "scaled_innovation"), pred, "corrected");
  }

  // Gemma3nTextLaurelBlock: x + norm(right(left(x))).
  static TensorId Laurel(DecoderContext& ctx, const std::string& prefix, TensorId x) {
    GraphBuilder& b = ctx.b;
    TensorId h;
    {
      GraphBuilder::Scope scope(b, "laurel");
      h = Linear(ctx, x, {prefix + "linear_left.weight"}, ctx.cfg.laurel_rank, {}, "left");
      h = Linear(ctx, h, {prefix + "linear_right.weight"}, ctx.cfg.hidden_size, {}, "right");
      h = Norm(ctx, h, prefix + "post_laurel_norm", "norm");
    }
    return b.Add(x, h, "laurel");
  }

  // Gemma3nTextAttention: q/k normed with weights, v normed without; layers past the
  // KV-sharing point reuse an earlier layer's updated cache instead of computing k, v.
  TensorId Attention(DecoderContext& ctx, int layer, const std::string& attn, TensorId x) const {
    GraphBuilder& b = ctx.b;
    const int heads = cfg_.num_heads, kv = cfg_.num_kv_heads, hd = cfg_.head_dim;
    const int t = ctx.tokens;
    const int kind = static_cast<int>(cfg_.layer_types[layer]);
    TensorId q = Linear(ctx, x, {attn + "q_proj.weight"}, heads * hd, {}, "q");
    q = b.Reshape(q, {1, t, heads, hd}, "q_heads");
    q = Norm(ctx, q, attn + "q_norm", "q_norm");
    q = ApplyRope(ctx, q, ctx.rope[kind], "q_rope");
    const int source = cfg_.KvCacheLayer(layer);
    if (source == layer) {
      TensorId k = Linear(ctx, x, {attn + "k_proj.weight"}, kv * hd, {}, "k");
      k = b.Reshape(k, {1, t, kv, hd}, "k_heads");
      k = Norm(ctx, k, attn + "k_norm", "k_norm");
      k = ApplyRope(ctx, k, ctx.rope[kind], "k_rope");
      TensorId v = Linear(ctx, x, {attn + "v_proj.weight"}, kv * hd, {}, "v");
      v = b.Reshape(v, {1, t, kv, hd}, "v_heads");
      {
        // Gemma3nRMSNorm(with_scale=False): x * rsqrt(mean(x^2) + eps).
        GraphBuilder::Scope scope(b, "v_norm");
        const TensorId ms = b.Mean(b.Mul(v, v, "square"), {-1}, true, "mean_square");
        v = b.Mul(v, b.Rsqrt(b.Add(ms, b.ScalarFloat(cfg_.norm_eps), "ms_eps"), "rsqrt"), "normed");
      }
      ctx.k_cache_out[layer] =
          b.DynamicUpdateSlice(ctx.k_cache_in[layer], k, ctx.cache_start, "k_cache");
      ctx.v_cache_out[layer] =
          b.DynamicUpdateSlice(ctx.v_cache_in[layer], v, ctx.cache_start, "v_cache");
    } else if (source < 0 || ctx.k_cache_out[source] < 0) {
      b.Fail(InternalError("layer " + std::to_string(layer) + " has no KV cache to share"));
      return x;
    }
    const TensorId out =
        AttendToCache(ctx, layer, q, ctx.k_cache_out[source], ctx.v_cache_out[source]);
    return Linear(ctx, out, {attn + "o_proj.weight"}, cfg_.hidden_size, {}, "o");
  }

  // Gemma3nTextMLP: down(act(sparsify(gate(x))) * up(x)), width intermediate_size[layer].
  TensorId Mlp(DecoderContext& ctx, int layer, const std::string& mlp, TensorId x) const {
    GraphBuilder& b = ctx.b;
    const int inner = cfg_.IntermediateSize(layer);
    TensorId gate = Linear(ctx, x, {mlp + "gate_proj.weight"}, inner, {}, "gate");
    const float sparsity =
        cfg_.activation_sparsity.empty() ? 0.0f : cfg_.activation_sparsity[layer];
    if (sparsity > 0.0f) {
      // _gaussian_topk: relu(x - (mean + std * Phi^-1(sparsity))), biased std.
      GraphBuilder::Scope scope(b, "sparsify");
      const TensorId mean = b.Mean(gate, {-1}, true, "mean");
      const TensorId centred = b.Sub(gate, mean, "centred");
      const TensorId var = b.Mean(b.Mul(centred, centred, "square"), {-1}, true, "var");
      const TensorId std_dev = b.Sqrt(var, "std");
      const TensorId cutoff = b.Add(
          mean, b.Mul(std_dev, b.ScalarFloat(NormalQuantile(sparsity)), "std_times_z"), "cutoff");
      gate = b.Relu(b.Sub(gate, cutoff, "shifted"), "sparse_gate");
    }
    const TensorId up = Linear(ctx, x, {mlp + "up_proj.weight"}, inner, {}, "up");
    const TensorId h = b.Mul(Activate(ctx, gate, cfg_.activation, "act"), up, "gated");
    return Linear(ctx, h, {mlp + "down_proj.weight"}, cfg_.hidden_size, {}, "down");
  }

  // The end of Gemma3nTextDecoderLayer.forward: the (scaled) active corrected stream
  // gates this layer's per-layer input; the projected, normed result is added to
  // streams 1..N-1.
  TensorId AddPerLayerInput(DecoderContext& ctx, int layer, const std::string& p,
                            TensorId corrected) const {
    GraphBuilder& b = ctx.b;
    const int n = cfg_.altup_num_inputs;
    TensorId g;
    {
      GraphBuilder::Scope scope(b, "per_layer");
      g = Stream(ctx, corrected, cfg_.altup_active_idx, "first");
      if (cfg_.altup_correct_scale) {
        g = b.Mul(g, ctx.w.Get(p + "altup.correct_output_scale", {cfg_.hidden_size}), "scaled");
      }
      g = Linear(ctx, g, {p + "per_layer_input_gate.weight"}, cfg_.hidden_size_per_layer_input, {},
                 "gate");
      g = Activate(ctx, g, cfg_.activation, "act");
      g = b.Mul(g, ctx.per_layer_inputs[layer], "gated");
      g = Linear(ctx, g, {p + "per_layer_projection.weight"}, cfg_.hidden_size, {}, "proj");
      g = Norm(ctx, g, p + "post_per_layer_input_norm", "norm");
    }
    if (n == 1) return corrected;
    const TensorId first = b.Slice(corrected, {0, 0, 0}, {1, -1, -1}, "stream0");
    const TensorId rest = b.Slice(corrected, {1, 0, 0}, {n - 1, -1, -1}, "streams_rest");
    return b.Concat({first, b.Add(rest, g, "streams_rest_updated")}, 0, "streams");
  }

  const ModelConfig& cfg_;
};

}  // namespace

std::unique_ptr<Architecture> MakeGemma3nArchitecture(const ModelConfig& cfg) {
  return std::make_unique<Gemma3nArchitecture>(cfg);
}

}  // namespace liteq::model
