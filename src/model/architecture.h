// What the family builders (src/model/<family>.cc) and the shared decoder skeleton
// (decoder.cc) exchange: the per-signature DecoderContext and the interface each
// family implements.
#ifndef LITEQ_MODEL_ARCHITECTURE_H_
#define LITEQ_MODEL_ARCHITECTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "graph/builder.h"
#include "model/config.h"
#include "model/weights.h"

namespace liteq::model {

using graph::TensorId;

// RoPE factors gathered for this signature's positions, shaped [1, T, 1, rotary_dim]
// to broadcast over [1, T, heads, rotary_dim].
struct RopeTensors {
  TensorId cos = -1;         // [cos, cos]
  TensorId sin_signed = -1;  // [-sin, sin]
};

// Everything one signature's subgraph shares between layers.
struct DecoderContext {
  graph::GraphBuilder& b;
  Weights& w;
  const ModelConfig& cfg;
  int tokens = 0;             // T of this signature
  int max_seq = 0;            // cache rows
  TensorId input_pos = -1;    // [T] int32
  TensorId cache_start = -1;  // [4] int32: (0, input_pos[0], 0, 0)
  // Additive attention masks [T, max_seq] (0 or a large negative value), by
  // AttentionKind; RoPE tensors by AttentionKind.
  TensorId mask[2] = {-1, -1};
  RopeTensors rope[2];
  TensorId token_ids = -1;  // [1, T] int32
  // Per layer: the cache inputs and (set by the attention block) the updated caches;
  // -1 for layers that own no cache (cfg.OwnsKvCache).
  std::vector<TensorId> k_cache_in, v_cache_in, k_cache_out, v_cache_out;
  // gemma3n: each layer's per-layer embedding input [1, T, hidden_size_per_layer_input].
  std::vector<TensorId> per_layer_inputs;
};

// Checkpoint names of the parts outside the decoder layers.
struct TopLevelNames {
  std::string embedding;     // [vocab, hidden] table
  std::string final_norm;    // norm prefix ("<prefix>.weight", "<prefix>.bias")
  std::string lm_head;       // [vocab, hidden]; unused when tie_word_embeddings
  std::string lm_head_bias;  // "" when the head has no bias
};

class Architecture {
 public:
  virtual ~Architecture() = default;
  virtual TopLevelNames names() const = 0;
  // Decoder layer `layer`: residual stream [1, T, hidden] in and out.
  virtual TensorId Layer(DecoderContext& ctx, int layer, TensorId x) const = 0;
  // The residual the layers start from, given the (scaled) token embeddings
  // [1, T, hidden]; families with several residual streams (gemma3n AltUp) expand here.
  virtual TensorId BeforeLayers(DecoderContext& /*ctx*/, TensorId embedded) const {
    return embedded;
  }
  // Back to [1, T, hidden] for the final norm.
  virtual TensorId AfterLayers(DecoderContext& /*ctx*/, TensorId x) const { return x; }
};

// One factory per family file.
std::unique_ptr<Architecture> MakeLlamaArchitecture(const ModelConfig& cfg);     // llama.cc
std::unique_ptr<Architecture> MakeGemmaArchitecture(const ModelConfig& cfg);     // gemma.cc
std::unique_ptr<Architecture> MakePhi3Architecture(const ModelConfig& cfg);      // phi3.cc
std::unique_ptr<Architecture> MakePhiArchitecture(const ModelConfig& cfg);       // phi.cc
std::unique_ptr<Architecture> MakeStableLmArchitecture(const ModelConfig& cfg);  // stablelm.cc
std::unique_ptr<Architecture> MakeFalconArchitecture(const ModelConfig& cfg);    // falcon.cc
std::unique_ptr<Architecture> MakeGemma3nArchitecture(const ModelConfig& cfg);   // gemma3n.cc

}  // namespace liteq::model

#endif  // LITEQ_MODEL_ARCHITECTURE_H_
