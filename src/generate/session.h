// A generation session over a loaded LiteRT LLM: feeds tokens through the prefill
// signatures in chunks (and decode for single tokens), tracks the position in the KV
// cache, and exposes the logits. The model's shape (prefill lengths, max_seq, vocab)
// is read from its signatures, so any file with liteq's signature layout works.
#ifndef LITEQ_GENERATE_SESSION_H_
#define LITEQ_GENERATE_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "generate/sampler.h"
#include "liteq/status.h"
#include "runtime/interpreter.h"

namespace liteq::generate {

struct PrefillSignature {
  std::string key;
  int length = 0;
};

struct ModelShape {
  int max_seq = 0;
  int vocab_size = 0;
  std::vector<PrefillSignature> prefill;  // sorted by length
  bool has_decode = false;
};

// Reads the layout from the signatures: tokens [1,T], input_pos [T], logits [1,T,V],
// kv_cache_* [1, max_seq, kv_heads, head_dim].
Result<ModelShape> InspectModelShape(runtime::Interpreter& interpreter);

class Session {
 public:
  static Result<std::unique_ptr<Session>> Create(runtime::Interpreter* interpreter);

  // Feeds `tokens` at the current position. When `all_logits` is given, the logits of
  // every fed position are appended to it (row-major [tokens.size(), vocab]).
  Status Feed(std::span<const int32_t> tokens, std::vector<float>* all_logits = nullptr);
  // Logits after the last fed token (empty before the first Feed): a view of the
  // signature's output row (no copy: 196 KB of RSS at a 49K vocabulary), valid until
  // the next Feed or until another user of the interpreter runs that signature.
  std::span<const float> last_logits() const { return last_logits_; }
  int position() const { return position_; }
  // Forgets the context (position 0; the cache contents become unreachable).
  void Reset();
  const ModelShape& shape() const { return shape_; }

 private:
  Session(runtime::Interpreter* interpreter, ModelShape shape);
  Status RunChunk(const std::string& key, int length, std::span<const int32_t> tokens,
                  std::vector<float>* all_logits);

  runtime::Interpreter* interpreter_;
  ModelShape shape_;
  int position_ = 0;
  std::span<const float> last_logits_;
};

struct GenerateOptions {
  int max_new_tokens = 64;
  SamplerOptions sampler;
  int32_t eos_id = -1;  // stop when sampled; -1 = never stop early
};

// Feeds the prompt, then samples up to max_new_tokens, calling `on_token` for each
// new token as soon as it exists (streaming). Returns the new tokens.
Result<std::vector<int32_t>> Generate(Session& session, std::span<const int32_t> prompt,
                                      const GenerateOptions& options,
                                      const std::function<void(int32_t)>& on_token = {});

}  // namespace liteq::generate

#endif  // LITEQ_GENERATE_SESSION_H_
