// Phi-3 (transformers modeling_phi3.py): a Llama-style block whose attention
// projections are fused in qkv_proj ([q; k; v] rows) and whose MLP projections are
// fused in gate_up_proj ([gate; up] rows, `gate, up = chunk(2)`). The fused weights
// are split into separate FULLY_CONNECTED weights when written.
#include "model/blocks.h"

namespace liteq::model {
namespace {

class Phi3Architecture : public Architecture {
 public:
  explicit Phi3Architecture(const ModelConfig& cfg) : cfg_(cfg) {}

  TopLevelNames names() const override {
    return {"model.embed_tokens.weight", "model.norm", "lm_head.weight", ""};
  }

  TensorId Layer(DecoderContext& ctx, int layer, TensorId x) const override {
    const std::string p = LayerPrefix("model.layers.", layer);
    const int64_t q_rows = int64_t{cfg_.num_heads} * cfg_.head_dim;
    const int64_t kv_rows = int64_t{cfg_.num_kv_heads} * cfg_.head_dim;
    const std::string qkv = p + "self_attn.qkv_proj.weight";
    AttentionWeights aw;
    aw.q = {qkv, {{0, q_rows}}};
    aw.k = {qkv, {{q_rows, kv_rows}}};
    aw.v = {qkv, {{q_rows + kv_rows, kv_rows}}};
    aw.o = {p + "self_attn.o_proj.weight"};
    const int64_t inner = cfg_.intermediate_size;
    const std::string gate_up = p + "mlp.gate_up_proj.weight";
    MlpWeights mw;
    mw.gate = {gate_up, {{0, inner}}};
    mw.up = {gate_up, {{inner, inner}}};
    mw.down = {p + "mlp.down_proj.weight"};

    return PreNormDecoderLayer(ctx, layer, x, p, aw, mw);
  }

 private:
  const ModelConfig& cfg_;
};

}  // namespace

std::unique_ptr<Architecture> MakePhi3Architecture(const ModelConfig& cfg) {
  return std::make_unique<Phi3Architecture>(cfg);
}

}  // namespace liteq::model
