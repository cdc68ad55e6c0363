// Public entry point of liteq_model: a checkpoint becomes a graph::Model of TFLite
// builtin ops with `prefill` and `decode` signatures and a fixed-size KV cache (the
// layout of DESIGN.md "The LiteRT model liteq writes").
//
// Signatures (one subgraph each):
//   prefill (one prefill length) or prefill_<T> (several), and decode (T = 1).
//   inputs : tokens int32 [1, T], input_pos int32 [T],
//            kv_cache_k_{i}, kv_cache_v_{i} float32 [1, max_seq, n_kv_heads, head_dim]
//   outputs: logits float32 [1, T, vocab], kv_cache_k_{i}, kv_cache_v_{i} (updated).
// Layers that share another layer's KV cache (gemma3n num_kv_shared_layers) have no
// kv_cache_k_{i}/kv_cache_v_{i}: the names keep the index of the layer owning the cache.
// The new keys/values of the T tokens are written at rows input_pos[0] ..
// input_pos[0] + T - 1 of the cache (DYNAMIC_UPDATE_SLICE, which clamps the start so
// the update fits: callers keep input_pos[0] + T <= max_seq). Query t attends to
// cache rows j <= input_pos[t] (and > input_pos[t] - W on sliding-window layers), so
// rows beyond the live region (e.g. written by padding tokens) are never attended.
//
// Debug tensor names (readable with the runtime's preserve_all_tensors):
//   embedding.output, layers.{i}.output, final_norm.output, layers.{i}.attn.q ...
#ifndef LITEQ_MODEL_MODEL_H_
#define LITEQ_MODEL_MODEL_H_

#include <memory>
#include <vector>

#include "graph/graph.h"
#include "io/checkpoint.h"
#include "liteq/status.h"
#include "model/config.h"

namespace liteq::model {

struct ExportOptions {
  std::vector<int> prefill_lengths = {128};  // one prefill signature per length
  int max_seq = 1024;                        // KV cache rows
};

// The model's config as liteq reads it (also what BuildModel uses).
Result<ModelConfig> ReadModelConfig(const io::Checkpoint& ckpt);

// Builds the float graph. Weights become lazy constants that read the checkpoint
// when the model is written (the model keeps `ckpt` alive).
Result<graph::Model> BuildModel(std::shared_ptr<const io::Checkpoint> ckpt,
                                const ExportOptions& opts);

// Metadata keys BuildModel writes (JSON text).
inline constexpr char kConfigMetadataKey[] = "liteq.config";
inline constexpr char kExportMetadataKey[] = "liteq.export";
inline constexpr char kTokenizerMetadataKey[] = "liteq.tokenizer";

// Name of Gemma 3n's per-layer embedding (PLE) table constant in the graph (the
// checkpoint tensor's name), for recipes that keep it in another precision.
inline constexpr char kPerLayerEmbeddingTensor[] = "model.embed_tokens_per_layer.weight";

}  // namespace liteq::model

#endif  // LITEQ_MODEL_MODEL_H_
