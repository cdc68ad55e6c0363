// Gemma decoders (transformers modeling_gemma.py, modeling_gemma2.py,
// modeling_gemma3.py): RMSNorm scaling by (1 + w), embeddings scaled by
// sqrt(hidden_size), GeGLU MLP.
//   gemma       : pre-norm blocks (input_layernorm, post_attention_layernorm before the MLP)
//   gemma2      : 4 norms per layer (post-attention and post-feedforward norms applied to
//                 the branch outputs before the residual add), attention-logit and
//                 final-logit soft-capping, query_pre_attn_scalar, alternating
//                 sliding / global layers
//   gemma3_text : as gemma2 plus per-head (1 + w) RMSNorm of q and k, local and global
//                 RoPE bases, layer_types
#include "model/blocks.h"

namespace liteq::model {
namespace {

class GemmaArchitecture : public Architecture {
 public:
  explicit GemmaArchitecture(const ModelConfig& cfg) : cfg_(cfg) {}

  TopLevelNames names() const override {
    return {"model.embed_tokens.weight", "model.norm", "lm_head.weight", ""};
  }

  TensorId Layer(DecoderContext& ctx, int layer, TensorId x) const override {
    graph::GraphBuilder& b = ctx.b;
    const std::string p = LayerPrefix("model.layers.", layer);
    const std::string attn = p + "self_attn.";
    const AttentionWeights aw = StandardAttentionWeights(attn, cfg_);
    const MlpWeights mw = StandardGatedMlpWeights(p + "mlp.", /*bias=*/false);

    TensorId attn_out;
    {
      graph::GraphBuilder::Scope scope(b, "attn");
      const TensorId h = Norm(ctx, x, p + "input_layernorm", "norm");
      attn_out = SelfAttention(ctx, layer, h, aw);
      if (cfg_.sandwich_norms) {
        attn_out = Norm(ctx, attn_out, p + "post_attention_layernorm", "post_norm");
      }
    }
    x = b.Add(x, attn_out, "attn_residual");
    TensorId mlp_out;
    {
      graph::GraphBuilder::Scope scope(b, "mlp");
      // Gemma 1 names its pre-MLP norm post_attention_layernorm.
      const std::string pre =
          cfg_.sandwich_norms ? "pre_feedforward_layernorm" : "post_attention_layernorm";
      const TensorId h = Norm(ctx, x, p + pre, "norm");
      mlp_out = Mlp(ctx, h, mw);
      if (cfg_.sandwich_norms) {
        mlp_out = Norm(ctx, mlp_out, p + "post_feedforward_layernorm", "post_norm");
      }
    }
    return b.Add(x, mlp_out, "mlp_residual");
  }

 private:
  const ModelConfig& cfg_;
};

}  // namespace

std::unique_ptr<Architecture> MakeGemmaArchitecture(const ModelConfig& cfg) {
  return std::make_unique<GemmaArchitecture>(cfg);
}

}  // namespace liteq::model
