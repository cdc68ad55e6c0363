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
    AttentionWeights aw;
    aw.q = {attn + "q_proj.weight"};
    aw.k = {attn + "k_proj.weight"};
    aw.v = {attn + "v_proj.weight"};
    aw.o = {attn + "o_proj.weight"};
    if (cfg_.qkv_bias) {
      aw.q_bias = {attn + "q_proj.bias"};
      aw.k_bias = {attn + "k_proj.bias"};
      aw.v_bias = {attn + "v_proj.bias"};
    }
    MlpWeights mw;
    mw.gate = {p + "mlp.gate_proj.weight"};
    mw.up = {p + "mlp.up_proj.weight"};
    mw.down = {p + "mlp.down_proj.weight"};

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
