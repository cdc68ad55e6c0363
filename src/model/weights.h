// Checkpoint tensors as lazy graph constants. A weight is named by a WeightSpec
// (checkpoint tensor, optional row selection, optional transform); its key names the
// model buffer, so the same spec used by several subgraphs (prefill, decode) or twice
// in one (a tied embedding) is stored once. Shapes are checked against the
// checkpoint when the graph is built; the bytes are read and converted to float32
// only when the model is written (the producer keeps the checkpoint alive).
#ifndef LITEQ_MODEL_WEIGHTS_H_
#define LITEQ_MODEL_WEIGHTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/builder.h"
#include "io/checkpoint.h"

namespace liteq::model {

enum class WeightTransform {
  kNone,
  kPlusOne,  // w + 1 (Gemma's RMSNorm multiplies by 1 + weight)
};

struct RowRange {
  int64_t start = 0;
  int64_t count = 0;
};

struct WeightSpec {
  std::string tensor;          // checkpoint tensor name
  std::vector<RowRange> rows;  // rows (dim 0) to keep, concatenated; empty = all
  WeightTransform transform = WeightTransform::kNone;

  // Unique name of the resulting buffer: the tensor name plus the selection and
  // transform ("model.norm.weight+1", "qkv_proj.weight[0:64]").
  std::string Key() const;
};

class Weights {
 public:
  Weights(graph::GraphBuilder& b, std::shared_ptr<const io::Checkpoint> ckpt)
      : b_(b), ckpt_(std::move(ckpt)) {}

  bool Has(const std::string& tensor) const { return ckpt_->Find(tensor) != nullptr; }
  // Float32 constant of `shape` (after row selection). A missing tensor or a shape
  // mismatch is recorded in the builder's status, naming the checkpoint and tensor.
  graph::TensorId Get(const WeightSpec& spec, const graph::Shape& shape);
  graph::TensorId Get(const std::string& tensor, const graph::Shape& shape) {
    return Get(WeightSpec{tensor}, shape);
  }
  // Get() if the checkpoint has `tensor`, else -1 (for optional biases).
  graph::TensorId Optional(const std::string& tensor, const graph::Shape& shape);

  const io::Checkpoint& checkpoint() const { return *ckpt_; }

 private:
  graph::GraphBuilder& b_;
  std::shared_ptr<const io::Checkpoint> ckpt_;
};

}  // namespace liteq::model

#endif  // LITEQ_MODEL_WEIGHTS_H_
