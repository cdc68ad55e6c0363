// Per-weight precision for the weight-only and dynamic recipes, as ai-edge-quantizer's
// recipes set it per tensor-name regex: `--float-ops` / `--float-tensors` (the ops'
// types / output names, the same meaning as in the static recipes: a matching
// FULLY_CONNECTED or embedding GATHER keeps float weights) and the rules of a recipe
// file (`liteq quantize --recipe-file F.json`):
//
//   {"recipe": "weight_only_int4", "block_size": 32,
//    "rules": [{"tensors": "embed_tokens", "precision": "int8"},
//              {"tensors": "layers\\.0\\.", "precision": "float"},
//              {"tensors": "down_proj", "precision": "int8", "granularity": "tensor"}]}
//
// A rule's `tensors` regex is searched in the weight tensor's name (the checkpoint's,
// e.g. model.layers.0.mlp.down_proj.weight); the first matching rule decides, weights
// no rule matches take the recipe's settings. A rule that matches no weight is an
// error (a typo must not silently quantize everything).
#ifndef LITEQ_QUANT_WEIGHT_RULES_H_
#define LITEQ_QUANT_WEIGHT_RULES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"
#include "quant/observers.h"
#include "quant/quantizer.h"
#include "tokenizer/regex.h"

namespace liteq::quant {

enum class WeightPrecision { kFloat, kInt8, kInt4 };

struct WeightRule {
  std::string tensors;  // regex, searched in the weight tensor's name
  WeightPrecision precision = WeightPrecision::kInt8;
  std::optional<Granularity> granularity;
  std::optional<int64_t> block_size;  // int4: 0 (per channel), 32, 64, 128
};

// The recipe file's content; unset fields keep the command line's values. A rule
// with an "observer" key is an ObserverRule (static recipes: which observer computes
// the range of the activation tensors its regex matches, e.g.
// {"tensors": "mlp\\.gated$", "observer": "percentile", "percentile": 99.9}); the others
// are WeightRules.
struct RecipeFile {
  std::optional<std::string> recipe, granularity, observer;
  std::optional<int64_t> block_size;
  std::vector<WeightRule> rules;
  std::vector<ObserverRule> observer_rules;
};

// A regex rule's test: `re` is found somewhere in tensor (or op type) `name`.
bool NameMatches(const tokenizer::Regex& re, const std::string& name);

// Parses and checks a recipe file (unknown keys are errors naming the key).
Result<RecipeFile> ReadRecipeFile(const std::string& path);

// Fills options->float_buffers and options->overrides from the op regexes (empty =
// none) and the rules. `int4_allowed`: false for dynamic_int8 (hybrid kernels read int8).
Status ResolveWeightRules(const graph::Model& model, const std::string& float_ops,
                          const std::string& float_tensors, const std::vector<WeightRule>& rules,
                          bool int4_allowed, WeightOnlyOptions* options);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_WEIGHT_RULES_H_
