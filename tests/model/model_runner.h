// Test helper: builds a model from a checkpoint directory and runs its prefill and
// decode signatures with liteq's runtime.
#ifndef LITEQ_TESTS_MODEL_MODEL_RUNNER_H_
#define LITEQ_TESTS_MODEL_MODEL_RUNNER_H_

#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "liteq/status.h"
#include "model/model.h"
#include "runtime/interpreter.h"

namespace liteq::model::testing {

class ModelRunner {
 public:
  // prefill_len: the single prefill signature's T; inputs shorter than it are padded.
  static Result<std::unique_ptr<ModelRunner>> Create(const std::string& model_dir, int prefill_len,
                                                     int max_seq,
                                                     bool preserve_all_tensors = false);

  // Runs `ids` (at most prefill_len) at positions start..start+n-1; returns the logits
  // of the n real tokens, row-major [n, vocab].
  Result<std::vector<float>> Prefill(const std::vector<int32_t>& ids, int start = 0);
  // One token at `pos`; returns [vocab] logits.
  Result<std::vector<float>> Decode(int32_t token, int pos);
  // Rows 0..n-1 of a float tensor of the prefill subgraph (by tensor name), as
  // [n, last_dim] (needs preserve_all_tensors for intermediates).
  Result<std::vector<float>> PrefillTensorRows(const std::string& name, int n);
  // Greedy continuation of `ids` for `steps` tokens (prefill, then decode).
  Result<std::vector<int32_t>> Greedy(const std::vector<int32_t>& ids, int steps);

  void Reset() { interpreter_->ResetState(); }
  int vocab() const { return vocab_; }
  const graph::Model& model() const { return *model_; }
  runtime::Interpreter& interpreter() { return *interpreter_; }

 private:
  std::shared_ptr<const graph::Model> model_;
  std::unique_ptr<runtime::Interpreter> interpreter_;
  runtime::SignatureRunner* prefill_ = nullptr;
  runtime::SignatureRunner* decode_ = nullptr;
  int prefill_len_ = 0;
  int vocab_ = 0;
};

// Opens `path` (a reference.safetensors file) as a checkpoint.
Result<std::unique_ptr<io::Checkpoint>> OpenReference(const std::string& path);

// max |a - b| / max |b|, over equally sized spans.
double RelativeError(const float* a, const float* b, size_t n);
int Argmax(const float* v, size_t n);

}  // namespace liteq::model::testing

#endif  // LITEQ_TESTS_MODEL_MODEL_RUNNER_H_
