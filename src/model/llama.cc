// Llama-style decoders (transformers modeling_llama.py and its close relatives):
// pre-norm RMSNorm blocks, q/k/v/o projections, SwiGLU MLP.
//   llama    : optional attention_bias (q, k, v, o) and mlp_bias; rope_type llama3
//   mistral  : sliding-window attention on every layer
//   qwen2    : q/k/v biases (o without), optional sliding window past max_window_layers
//   qwen3    : per-head RMSNorm of q and k (q_norm, k_norm) before RoPE
// llama2.c checkpoints arrive here as llama (the reader un-permutes q/k).
#include "model/blocks.h"

namespace liteq::model {
namespace {

class LlamaArchitecture : public Architecture {
 public:
  explicit LlamaArchitecture(const ModelConfig& cfg) : cfg_(cfg) {}

  TopLevelNames names() const override {
    return {"model.embed_tokens.weight", "model.norm", "lm_head.weight", ""};
  }

  TensorId Layer(DecoderContext& ctx, int layer, TensorId x) const override {
    const std::string p = LayerPrefix("model.layers.", layer);
    const std::string attn = p + "self_attn.";
    const AttentionWeights aw = StandardAttentionWeights(attn, cfg_);
    const MlpWeights mw = StandardGatedMlpWeights(p + "mlp.", cfg_.mlp_bias);

    return PreNormDecoderLayer(ctx, layer, x, p, aw, mw);
  }

 private:
  const ModelConfig& cfg_;
};

}  // namespace

std::unique_ptr<Architecture> MakeLlamaArchitecture(const ModelConfig& cfg) {
  return std::make_unique<LlamaArchitecture>(cfg);
}

}  // namespace liteq::model
