// StableLM (transformers modeling_stablelm.py): LayerNorm (with bias) pre-norm
// blocks, optional q/k/v biases (use_qkv_bias), partial rotary embedding, SwiGLU
// MLP, and optionally a parallel residual (use_parallel_residual: attention and MLP
// both read input_layernorm's output; residual + attn + mlp).
#include "model/blocks.h"

namespace liteq::model {
namespace {

class StableLmArchitecture : public Architecture {
 public:
  explicit StableLmArchitecture(const ModelConfig& cfg) : cfg_(cfg) {}

  TopLevelNames names() const override {
    return {"model.embed_tokens.weight", "model.norm", "lm_head.weight", ""};
  }

  TensorId Layer(DecoderContext& ctx, int layer, TensorId x) const override {
    graph::GraphBuilder& b = ctx.b;
    const std::string p = LayerPrefix("model.layers.", layer);
    const std::string attn = p + "self_attn.";
    // StableLM has no o_proj bias and per-head q/k norms are refused by the config
    // reader, so the shared naming applies as is.
    const AttentionWeights aw = StandardAttentionWeights(attn, cfg_);
    const MlpWeights mw = StandardGatedMlpWeights(p + "mlp.", /*bias=*/false);

    TensorId h = Norm(ctx, x, p + "input_layernorm", "norm");
    TensorId attn_out;
    {
      graph::GraphBuilder::Scope scope(b, "attn");
      attn_out = SelfAttention(ctx, layer, h, aw);
    }
    if (cfg_.parallel_residual) {
      TensorId mlp_out;
      {
        graph::GraphBuilder::Scope scope(b, "mlp");
        mlp_out = Mlp(ctx, h, mw);
      }
      return b.Add(b.Add(x, attn_out, "attn_residual"), mlp_out, "mlp_residual");
    }
    x = b.Add(x, attn_out, "attn_residual");
    TensorId mlp_out;
    {
      graph::GraphBuilder::Scope scope(b, "mlp");
      h = Norm(ctx, x, p + "post_attention_layernorm", "norm");
      mlp_out = Mlp(ctx, h, mw);
    }
    return b.Add(x, mlp_out, "mlp_residual");
  }

 private:
  const ModelConfig& cfg_;
};

}  // namespace

std::unique_ptr<Architecture> MakeStableLmArchitecture(const ModelConfig& cfg) {
  return std::make_unique<StableLmArchitecture>(cfg);
}

}  // namespace liteq::model
