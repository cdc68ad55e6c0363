// Falcon with rotary embeddings (transformers modeling_falcon.py; ALiBi variants are
// rejected by the config parser). The fused query_key_value projection is split into
// q, k and v weights according to its layout:
//   multi_query (falcon-7b)        : rows [q (heads*hd); k (hd); v (hd)]
//   neither (old multi-head)       : per head h: rows [q_h; k_h; v_h]
//   new_decoder_architecture (40b) : per kv group g: [q_(g,0..G-1); k_g; v_g]
// Blocks: LayerNorm(s) with bias, attention and GELU MLP either in parallel
// (parallel_attn: (mlp + attn) + residual) or sequential; dense biases if `bias`.
#include "model/blocks.h"

namespace liteq::model {
namespace {

class FalconArchitecture : public Architecture {
 public:
  explicit FalconArchitecture(const ModelConfig& cfg) : cfg_(cfg) {}

  TopLevelNames names() const override {
    return {"transformer.word_embeddings.weight", "transformer.ln_f", "lm_head.weight", ""};
  }

  // Rows of the fused projection holding q, k and v.
  void SplitQkv(std::vector<RowRange>* q, std::vector<RowRange>* k,
                std::vector<RowRange>* v) const {
    const int64_t hd = cfg_.head_dim, heads = cfg_.num_heads, kv = cfg_.num_kv_heads;
    if (cfg_.falcon_new_decoder_architecture) {
      const int64_t group = heads / kv;
      for (int64_t g = 0; g < kv; ++g) {
        const int64_t base = g * (group + 2) * hd;
        q->push_back({base, group * hd});
        k->push_back({base + group * hd, hd});
        v->push_back({base + (group + 1) * hd, hd});
      }
    } else if (cfg_.falcon_multi_query) {
      q->push_back({0, heads * hd});
      k->push_back({heads * hd, hd});
      v->push_back({heads * hd + hd, hd});
    } else {
      for (int64_t h = 0; h < heads; ++h) {
        q->push_back({(3 * h) * hd, hd});
        k->push_back({(3 * h + 1) * hd, hd});
        v->push_back({(3 * h + 2) * hd, hd});
      }
    }
  }

  TensorId Layer(DecoderContext& ctx, int layer, TensorId x) const override {
    graph::GraphBuilder& b = ctx.b;
    const std::string p = LayerPrefix("transformer.h.", layer);
    const std::string qkv = p + "self_attention.query_key_value.";
    AttentionWeights aw;
    std::vector<RowRange> q, k, v;
    SplitQkv(&q, &k, &v);
    aw.q = {qkv + "weight", q};
    aw.k = {qkv + "weight", k};
    aw.v = {qkv + "weight", v};
    aw.o = {p + "self_attention.dense.weight"};
    MlpWeights mw;
    mw.up = {p + "mlp.dense_h_to_4h.weight"};
    mw.down = {p + "mlp.dense_4h_to_h.weight"};
    if (cfg_.qkv_bias) {
      aw.q_bias = {qkv + "bias", q};
      aw.k_bias = {qkv + "bias", k};
      aw.v_bias = {qkv + "bias", v};
      aw.o_bias = {p + "self_attention.dense.bias"};
      mw.up_bias = {p + "mlp.dense_h_to_4h.bias"};
      mw.down_bias = {p + "mlp.dense_4h_to_h.bias"};
    }

    const bool two_norms =
        cfg_.falcon_new_decoder_architecture && cfg_.falcon_num_ln_in_parallel_attn == 2;
    const TensorId attn_in = Norm(ctx, x, p + (two_norms ? "ln_attn" : "input_layernorm"),
                                  two_norms ? "ln_attn" : "norm");
    TensorId attn_out;
    {
      graph::GraphBuilder::Scope scope(b, "attn");
      attn_out = SelfAttention(ctx, layer, attn_in, aw);
    }
    TensorId residual = x;
    TensorId mlp_in = attn_in;
    if (two_norms) {
      mlp_in = Norm(ctx, x, p + "ln_mlp", "ln_mlp");
    } else if (!cfg_.parallel_residual) {
      residual = b.Add(attn_out, x, "attn_residual");
      mlp_in = Norm(ctx, residual, p + "post_attention_layernorm", "post_attention_norm");
    }
    TensorId mlp_out;
    {
      graph::GraphBuilder::Scope scope(b, "mlp");
      mlp_out = Mlp(ctx, mlp_in, mw);
    }
    if (cfg_.parallel_residual || cfg_.falcon_new_decoder_architecture) {
      mlp_out = b.Add(mlp_out, attn_out, "mlp_plus_attn");
    }
    return b.Add(mlp_out, residual, "residual");
  }

 private:
  const ModelConfig& cfg_;
};

}  // namespace

std::unique_ptr<Architecture> MakeFalconArchitecture(const ModelConfig& cfg) {
  return std::make_unique<FalconArchitecture>(cfg);
}

}  // namespace liteq::model
