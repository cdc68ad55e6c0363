// GraphBuilder: emits TFLite builtin ops into a graph::Model with static shape
// inference, scoped tensor names and constants shared across subgraphs.
//
// Errors are sticky: the first failure (a shape that does not fit an op, a weight
// that is missing) is recorded in status() and every later call still returns a
// usable tensor id (a placeholder with the best shape known), so model builders can
// be written as straight-line code and check status() once at the end. Nothing here
// aborts on bad input.
//
// Constant buffers are keyed: asking twice for the same key (in the same or in
// another subgraph) reuses one Model::buffers entry, so weights shared by the prefill
// and decode subgraphs are stored once. Inside one subgraph, the same key also
// reuses one tensor (a tied embedding is one tensor used by GATHER and by the
// lm-head FULLY_CONNECTED).
#ifndef LITEQ_GRAPH_BUILDER_H_
#define LITEQ_GRAPH_BUILDER_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::graph {

using TensorId = int32_t;
using Shape = std::vector<int32_t>;

std::string ShapeString(const Shape& shape);

class GraphBuilder {
 public:
  explicit GraphBuilder(Model& model) : model_(model) {}
  GraphBuilder(const GraphBuilder&) = delete;
  GraphBuilder& operator=(const GraphBuilder&) = delete;

  // ---- Subgraphs --------------------------------------------------------------
  // Appends a subgraph and makes it the target of every following call.
  uint32_t BeginSubgraph(const std::string& name);
  uint32_t subgraph_index() const { return current_; }
  Subgraph& subgraph() { return model_.subgraphs[current_]; }
  Model& model() { return model_; }

  const Tensor& tensor(TensorId id) const { return model_.subgraphs[current_].tensors[id]; }
  const Shape& shape(TensorId id) const { return tensor(id).shape; }
  DType dtype(TensorId id) const { return tensor(id).dtype; }
  int rank(TensorId id) const { return static_cast<int>(shape(id).size()); }

  // ---- Errors -------------------------------------------------------------------
  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }
  // Records `s` if no error was recorded yet.
  void Fail(Status s);

  // ---- Names --------------------------------------------------------------------
  // RAII name scope: while alive, generated names are prefixed by "<outer>.<part>".
  class Scope {
   public:
    Scope(GraphBuilder& b, std::string_view part);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    GraphBuilder& b_;
    size_t previous_size_;
  };
  // "<scope>.<leaf>" (or leaf alone at top level).
  std::string ScopedName(std::string_view leaf) const;
  // Gives tensor `id` the exact name `name` (made unique with a ".N" suffix if taken).
  void Rename(TensorId id, const std::string& name);

  // ---- Tensors ------------------------------------------------------------------
  // A subgraph input (appended to Subgraph::inputs); `name` is used verbatim.
  TensorId Input(const std::string& name, DType dtype, Shape shape);
  // Appends `id` to Subgraph::outputs.
  void MarkOutput(TensorId id);
  // A fresh activation tensor named ScopedName(leaf).
  TensorId Activation(std::string_view leaf, DType dtype, Shape shape);

  // Model buffer for `key`, created by `make` on first use (shared by all subgraphs).
  uint32_t SharedBuffer(const std::string& key, const std::function<Buffer()>& make);
  // Constant tensor over the shared buffer `key`; one tensor per key per subgraph.
  // `name` is used verbatim (made unique); it defaults to the key.
  TensorId Constant(const std::string& key, DType dtype, Shape shape,
                    const std::function<Buffer()>& make, const std::string& name = "");
  // Lazy constant: `producer` fills `bytes` bytes when the model is written.
  TensorId LazyConstant(const std::string& key, DType dtype, Shape shape,
                        std::function<Status(std::span<uint8_t>)> producer,
                        const std::string& name = "");
  // Lazy constant whose producer can make any byte range (Buffer::LazyRanged).
  TensorId LazyRangedConstant(const std::string& key, DType dtype, Shape shape,
                              std::function<Status(size_t, std::span<uint8_t>)> range_producer,
                              const std::string& name = "");
  // Small resident constants; the key is derived from the values so equal constants
  // share one buffer and (per subgraph) one tensor.
  TensorId ConstFloat(const std::vector<float>& values, Shape shape, const std::string& name = "");
  TensorId ConstInt32(const std::vector<int32_t>& values, Shape shape,
                      const std::string& name = "");
  TensorId ScalarFloat(float value) { return ConstFloat({value}, {}); }
  TensorId VectorInt32(const std::vector<int32_t>& values) {
    return ConstInt32(values, {static_cast<int32_t>(values.size())});
  }

  // ---- Ops (each returns its output; `leaf` names it within the scope) ---------
  // Raw emission: output of dtype/shape given by the caller.
  TensorId Emit(OpCode code, std::vector<TensorId> inputs, OpOptions options, DType out_dtype,
                Shape out_shape, std::string_view leaf);

  TensorId Add(TensorId a, TensorId b, std::string_view leaf = "add");
  TensorId Sub(TensorId a, TensorId b, std::string_view leaf = "sub");
  TensorId Mul(TensorId a, TensorId b, std::string_view leaf = "mul");
  TensorId Div(TensorId a, TensorId b, std::string_view leaf = "div");
  TensorId Maximum(TensorId a, TensorId b, std::string_view leaf = "maximum");
  TensorId Minimum(TensorId a, TensorId b, std::string_view leaf = "minimum");
  TensorId Pow(TensorId a, TensorId b, std::string_view leaf = "pow");
  TensorId SquaredDifference(TensorId a, TensorId b, std::string_view leaf = "sqdiff");

  TensorId Less(TensorId a, TensorId b, std::string_view leaf = "less");
  TensorId LessEqual(TensorId a, TensorId b, std::string_view leaf = "less_equal");
  TensorId Greater(TensorId a, TensorId b, std::string_view leaf = "greater");
  TensorId GreaterEqual(TensorId a, TensorId b, std::string_view leaf = "greater_equal");
  TensorId Equal(TensorId a, TensorId b, std::string_view leaf = "equal");
  TensorId LogicalAnd(TensorId a, TensorId b, std::string_view leaf = "and");
  // cond ? a : b with numpy broadcasting of all three.
  TensorId SelectV2(TensorId cond, TensorId a, TensorId b, std::string_view leaf = "select");

  TensorId Rsqrt(TensorId x, std::string_view leaf = "rsqrt");
  TensorId Sqrt(TensorId x, std::string_view leaf = "sqrt");
  TensorId Square(TensorId x, std::string_view leaf = "square");
  TensorId Exp(TensorId x, std::string_view leaf = "exp");
  TensorId Neg(TensorId x, std::string_view leaf = "neg");
  TensorId Abs(TensorId x, std::string_view leaf = "abs");
  TensorId Tanh(TensorId x, std::string_view leaf = "tanh");
  TensorId Logistic(TensorId x, std::string_view leaf = "logistic");
  TensorId Relu(TensorId x, std::string_view leaf = "relu");
  TensorId Sin(TensorId x, std::string_view leaf = "sin");
  TensorId Cos(TensorId x, std::string_view leaf = "cos");
  TensorId Gelu(TensorId x, bool approximate, std::string_view leaf = "gelu");
  TensorId Cast(TensorId x, DType to, std::string_view leaf = "cast");

  // y = x · wᵀ (+ bias); w is [out, in]; keep_num_dims keeps x's leading dims.
  TensorId FullyConnected(TensorId x, TensorId w, TensorId bias = -1, bool keep_num_dims = true,
                          std::string_view leaf = "fc");
  TensorId BatchMatMul(TensorId a, TensorId b, bool adj_x, bool adj_y,
                       std::string_view leaf = "bmm");
  TensorId Softmax(TensorId x, float beta = 1.0f, std::string_view leaf = "softmax");
  TensorId Mean(TensorId x, const std::vector<int32_t>& axes, bool keep_dims,
                std::string_view leaf = "mean");
  TensorId Sum(TensorId x, const std::vector<int32_t>& axes, bool keep_dims,
               std::string_view leaf = "sum");
  TensorId ReduceMax(TensorId x, const std::vector<int32_t>& axes, bool keep_dims,
                     std::string_view leaf = "reduce_max");

  // One dimension may be -1 (inferred).
  TensorId Reshape(TensorId x, Shape new_shape, std::string_view leaf = "reshape");
  TensorId Transpose(TensorId x, const std::vector<int32_t>& perm,
                     std::string_view leaf = "transpose");
  // size -1 means "to the end".
  TensorId Slice(TensorId x, const std::vector<int32_t>& begin, const std::vector<int32_t>& size,
                 std::string_view leaf = "slice");
  TensorId Concat(const std::vector<TensorId>& inputs, int axis, std::string_view leaf = "concat");
  // params gathered along `axis` by int32 indices: shape params[:axis]+indices+params[axis+1:].
  TensorId Gather(TensorId params, TensorId indices, int axis = 0,
                  std::string_view leaf = "gather");
  // operand with `update` written at int32 `start` [rank(operand)]; same shape as operand.
  TensorId DynamicUpdateSlice(TensorId operand, TensorId update, TensorId start,
                              std::string_view leaf = "dynamic_update_slice");

 private:
  TensorId AddTensor(Tensor t);
  std::string UniqueName(const std::string& name);
  TensorId Placeholder(DType dtype, Shape shape, std::string_view leaf);
  // Broadcast of two or three shapes, or an error naming the op and tensors.
  bool Broadcast(const char* op, const std::vector<TensorId>& ins, Shape* out);
  TensorId Binary(OpCode code, TensorId a, TensorId b, std::string_view leaf);
  TensorId Compare(OpCode code, TensorId a, TensorId b, std::string_view leaf);
  TensorId Unary(OpCode code, TensorId x, OpOptions options, std::string_view leaf);
  TensorId Reduce(OpCode code, TensorId x, const std::vector<int32_t>& axes, bool keep_dims,
                  std::string_view leaf);
  bool Valid(TensorId id) const;
  std::string Describe(TensorId id) const;  // "'name' [1,2,3] float32"

  Model& model_;
  uint32_t current_ = 0;
  bool has_subgraph_ = false;
  Status status_;
  std::string scope_;
  std::map<std::string, uint32_t> buffer_by_key_;
  // Per current subgraph (reset by BeginSubgraph).
  std::map<std::string, TensorId> constant_by_key_;
  std::map<std::string, int> name_uses_;
};

}  // namespace liteq::graph

#endif  // LITEQ_GRAPH_BUILDER_H_
