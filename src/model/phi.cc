// Phi-2 (transformers modeling_phi.py): one LayerNorm (with bias) per layer feeding
// attention and MLP in parallel, `attn + mlp + residual`; biased q/k/v/dense and
// fc1/fc2 projections; partial rotary embedding (partial_rotary_factor); gelu_new;
// optional LayerNorm of q and k over head_dim (qk_layernorm); final_layernorm and a
// biased lm_head.
#include "model/blocks.h"

namespace liteq::model {
namespace {

class PhiArchitecture : public Architecture {
 public:
  explicit PhiArchitecture(const ModelConfig& cfg) : cfg_(cfg) {}

  TopLevelNames names() const override {
    return {"model.embed_tokens.weight", "model.final_layernorm", "lm_head.weight", "lm_head.bias"};
  }

  TensorId Layer(DecoderContext& ctx, int layer, TensorId x) const override {
    graph::GraphBuilder& b = ctx.b;
    const std::string p = LayerPrefix("model.layers.", layer);
    const std::string attn = p + "self_attn.";
    AttentionWeights aw;
    aw.q = {attn + "q_proj.weight"};
    aw.k = {attn + "k_proj.weight"};
    aw.v = {attn + "v_proj.weight"};
    aw.o = {attn + "dense.weight"};
    aw.q_bias = {attn + "q_proj.bias"};
    aw.k_bias = {attn + "k_proj.bias"};
    aw.v_bias = {attn + "v_proj.bias"};
    aw.o_bias = {attn + "dense.bias"};
    if (cfg_.qk_norm) {
      aw.q_norm = attn + "q_layernorm";
      aw.k_norm = attn + "k_layernorm";
    }
    MlpWeights mw;
    mw.up = {p + "mlp.fc1.weight"};
    mw.up_bias = {p + "mlp.fc1.bias"};
    mw.down = {p + "mlp.fc2.weight"};
    mw.down_bias = {p + "mlp.fc2.bias"};

    const TensorId h = Norm(ctx, x, p + "input_layernorm", "norm");
    TensorId attn_out, mlp_out;
    {
      graph::GraphBuilder::Scope scope(b, "attn");
      attn_out = SelfAttention(ctx, layer, h, aw);
    }
    {
      graph::GraphBuilder::Scope scope(b, "mlp");
      mlp_out = Mlp(ctx, h, mw);
    }
    // PhiDecoderLayer: attn_outputs + feed_forward_hidden_states + residual.
    return b.Add(b.Add(attn_out, mlp_out, "attn_plus_mlp"), x, "residual");
  }

 private:
  const ModelConfig& cfg_;
};

}  // namespace

std::unique_ptr<Architecture> MakePhiArchitecture(const ModelConfig& cfg) {
  return std::make_unique<PhiArchitecture>(cfg);
}

}  // namespace liteq::model
