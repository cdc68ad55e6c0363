// MatFormer sub-model extraction for Gemma 3n (gemma3n_text). Gemma 3n's FFNs are
// nested (MatFormer, arXiv:2310.07707): the first k units of a layer's FFN form a
// smaller FFN trained together with the full one, and some layers can be dropped
// ("Mix-n-Match": E4B contains E2B and the sizes in between). A layout names the FFN
// width of every layer and the layers to skip; extraction happens on the checkpoint,
// before the graph is built, so the sub-model goes through the ordinary builder,
// quantizer and writer:
//   * gate_proj / up_proj [inter, hidden] keep their first k rows (output units),
//     down_proj [hidden, inter] its first k columns (input units);
//   * a skipped layer's tensors are dropped and the kept layers renumbered; what is
//     indexed by layer follows: the P-wide column block of each layer in the
//     per-layer embedding table embed_tokens_per_layer [vocab, L * P], the P-row
//     block of per_layer_model_projection [L * P, hidden], layer_types,
//     activation_sparsity_pattern, intermediate_size;
//   * KV sharing is recomputed: num_kv_shared_layers becomes the number of kept
//     layers that were KV-shared (they stay the last ones), and each reads the cache
//     of the last earlier kept non-shared layer of its type. A layout is rejected if
//     that is not the layer it read in the full model (i.e. it skips a layer whose
//     cache a kept shared layer reads): the sub-model then computes exactly the full
//     model with the skipped layers removed.
#ifndef LITEQ_MODEL_MATFORMER_H_
#define LITEQ_MODEL_MATFORMER_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "io/checkpoint.h"
#include "liteq/status.h"

namespace liteq::model {

// A layout as given (before it is checked against a model).
struct MatformerLayout {
  std::string source;  // preset name or JSON file, for messages and the metadata
  // FFN width per layer: empty (keep), one value (every kept layer), one per layer of
  // the full model, or one per kept layer. A preset gives `width_fraction` instead.
  std::vector<int> ffn_widths;
  double width_fraction = 0;     // preset: each width * fraction (rounded down, >= 1); 0 = off
  std::vector<int> skip_layers;  // indices in the full model
};

// Presets: name -> description (`liteq quantize --help` lists them).
std::vector<std::pair<std::string, std::string>> MatformerPresets();

// `{"ffn_widths": [k0, k1, ...] | k, "skip_layers": [i, ...]}` (both optional, no
// other keys). Errors name `source` and the key.
Result<MatformerLayout> ParseMatformerLayout(const nlohmann::json& j, const std::string& source);
// A preset name, inline JSON (starting with '{'), else a JSON file holding a layout.
Result<MatformerLayout> LoadMatformerLayout(const std::string& preset_or_file);

// A layout resolved against a model.
struct MatformerPlan {
  std::vector<int> kept_layers;  // indices in the full model, ascending
  std::vector<int> ffn_widths;   // per kept layer
  std::vector<int> full_widths;  // per layer of the full model
  nlohmann::json config;         // the sub-model's config.json
  nlohmann::json ToJson(const MatformerLayout& layout) const;  // metadata record
};

// Checks `layout` against the gemma3n_text checkpoint `ckpt` (width 0 or above the
// layer's width, skip index out of range or repeated, every layer skipped, a kept
// KV-shared layer losing its cache source, a list of the wrong length: errors that
// say which entry is wrong).
Result<MatformerPlan> PlanMatformer(const io::Checkpoint& ckpt, const MatformerLayout& layout);

// The sub-model as a checkpoint: `plan.config` as its config, the kept tensors
// renamed and sliced (read through `ckpt` on demand; nothing is copied up front).
// path() is the full model's, so its tokenizer is still found next to it.
Result<std::shared_ptr<const io::Checkpoint>> ExtractMatformer(
    std::shared_ptr<const io::Checkpoint> ckpt, const MatformerPlan& plan);

// Metadata key under which the CLI records the layout (JSON of MatformerPlan::ToJson).
inline constexpr char kMatformerMetadataKey[] = "liteq.matformer";

}  // namespace liteq::model

#endif  // LITEQ_MODEL_MATFORMER_H_
