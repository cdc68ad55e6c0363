// Synthetic checkpoints: Hugging Face model directories with random weights at the
// shapes of real models (issue #6), so speed can be measured at real sizes without
// downloading weights. The values are small (normal * 0.02, norms near 1) so every
// activation stays finite; the text the model would produce is meaningless.
#ifndef LITEQ_BENCH_SYNTHETIC_CHECKPOINT_H_
#define LITEQ_BENCH_SYNTHETIC_CHECKPOINT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "liteq/status.h"

namespace liteq::bench {

enum class SynthFamily { kLlama, kGemma3 };

struct SynthShape {
  std::string name;
  SynthFamily family = SynthFamily::kLlama;
  int vocab = 0, hidden = 0, ffn = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0;
  int max_position = 2048;
  bool tie_embeddings = false;
  double rope_theta = 10000.0;
  double rms_eps = 1e-5;
  int bos = 1, eos = 2, pad = -1;
  int sliding_window = 512;  // gemma3 only
  // Name of a tokenizer.json whose vocabulary matches (relative to the models dir), or
  // empty: benchmarks then feed token ids.
  std::string tokenizer;
};

// The named shapes: gemma3-270m, tinyllama-1.1b, smollm2-135m (dimensions from their
// Hugging Face configs), and the tiny test shapes llama-test and gemma3-test.
const std::vector<SynthShape>& SynthShapes();
Result<SynthShape> FindSynthShape(const std::string& name);

// config.json for `shape` (transformers 5 keys, as the fixtures in models/ use).
nlohmann::json SynthConfig(const SynthShape& shape);

// One tensor of the checkpoint: HF name, shape, and how its values are drawn.
struct SynthTensor {
  std::string name;
  std::vector<int64_t> shape;
  bool is_norm = false;  // ~1 (llama) or ~0 (gemma, which multiplies by 1 + w)
};
std::vector<SynthTensor> SynthTensors(const SynthShape& shape);
int64_t SynthParameterCount(const SynthShape& shape);

enum class SynthDType { kF32, kBF16 };

struct SynthOptions {
  SynthDType dtype = SynthDType::kBF16;
  uint64_t seed = 0;
  // Directory holding tokenizer files to copy (the repo's models/); empty = none.
  std::string models_dir;
};

// Writes `dir`/config.json, model.safetensors (streamed one tensor at a time, atomic),
// generation_config.json and, when the shape names one that exists, tokenizer.json.
// Tensor values depend only on (seed, tensor name), not on the order of writing.
Status WriteSyntheticCheckpoint(const SynthShape& shape, const std::string& dir,
                                const SynthOptions& options);

}  // namespace liteq::bench

#endif  // LITEQ_BENCH_SYNTHETIC_CHECKPOINT_H_
