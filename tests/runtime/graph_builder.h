// Builds small graph::Models by hand for the runtime tests: signatures, constants,
// ops, and a one-op runner that feeds inputs and returns the outputs.
#ifndef LITEQ_TESTS_RUNTIME_GRAPH_BUILDER_H_
#define LITEQ_TESTS_RUNTIME_GRAPH_BUILDER_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"
#include "runtime/interpreter.h"

namespace liteq::runtime::testing {

using Shape = std::vector<int32_t>;

class GraphBuilder {
 public:
  GraphBuilder() : model_(std::make_shared<graph::Model>()) {}

  // Starts a new subgraph with a signature named `key`; later calls add to it.
  void BeginSignature(const std::string& key) {
    model_->subgraphs.emplace_back();
    model_->subgraphs.back().name = key;
    graph::Signature sig;
    sig.key = key;
    sig.subgraph = static_cast<uint32_t>(model_->subgraphs.size() - 1);
    model_->signatures.push_back(sig);
  }
  int Tensor(const std::string& name, graph::DType dtype, Shape shape) {
    graph::Tensor t;
    t.name = name;
    t.dtype = dtype;
    t.shape = std::move(shape);
    sg().tensors.push_back(t);
    return static_cast<int>(sg().tensors.size() - 1);
  }
  template <typename T>
  int Const(const std::string& name, graph::DType dtype, Shape shape,
            const std::vector<T>& values) {
    const int t = Tensor(name, dtype, std::move(shape));
    sg().tensors[t].buffer = model_->AddBuffer(graph::Buffer::FromValues(values));
    return t;
  }
  int ConstF(const std::string& name, Shape shape, const std::vector<float>& v) {
    return Const(name, graph::DType::kFloat32, std::move(shape), v);
  }
  int ConstI(const std::string& name, Shape shape, const std::vector<int32_t>& v) {
    return Const(name, graph::DType::kInt32, std::move(shape), v);
  }
  int Input(const std::string& name, graph::DType dtype, Shape shape) {
    const int t = Tensor(name, dtype, std::move(shape));
    sig().inputs.emplace_back(name, t);
    sg().inputs.push_back(t);
    return t;
  }
  // An int8 tensor quantized per tensor (an intermediate, or with `input` a signature
  // input).
  int Int8(const std::string& name, Shape shape, float scale, int64_t zero_point,
           bool input = false) {
    const int t = input ? Input(name, graph::DType::kInt8, std::move(shape))
                        : Tensor(name, graph::DType::kInt8, std::move(shape));
    sg().tensors[t].quant.scale = {scale};
    sg().tensors[t].quant.zero_point = {zero_point};
    return t;
  }
  void Output(const std::string& name, int tensor) {
    sig().outputs.emplace_back(name, tensor);
    sg().outputs.push_back(tensor);
  }
  void Op(graph::OpCode code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
          graph::OpOptions options = graph::NoOptions{}) {
    graph::Op op;
    op.code = code;
    op.inputs = std::move(inputs);
    op.outputs = std::move(outputs);
    op.options = std::move(options);
    sg().ops.push_back(std::move(op));
  }
  graph::Subgraph& sg() { return model_->subgraphs.back(); }
  graph::Signature& sig() { return model_->signatures.back(); }
  std::shared_ptr<graph::Model> model() { return model_; }

 private:
  std::shared_ptr<graph::Model> model_;
};

// A tensor value for the one-op runner.
struct Value {
  graph::DType dtype = graph::DType::kFloat32;
  Shape shape;
  std::vector<uint8_t> bytes;
  bool constant = false;
  graph::QuantParams quant;  // of the tensor (empty: not quantized)

  template <typename T>
  std::vector<T> as() const {
    std::vector<T> v(bytes.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
    return v;
  }
  std::vector<float> f() const { return as<float>(); }
  std::vector<int32_t> i() const { return as<int32_t>(); }
  std::vector<uint8_t> b() const { return as<uint8_t>(); }
};

template <typename T>
Value MakeValue(graph::DType dtype, Shape shape, const std::vector<T>& v, bool constant) {
  Value value{dtype, std::move(shape), std::vector<uint8_t>(v.size() * sizeof(T)), constant};
  if (!v.empty()) std::memcpy(value.bytes.data(), v.data(), value.bytes.size());
  return value;
}
inline Value F(Shape s, const std::vector<float>& v) {
  return MakeValue(graph::DType::kFloat32, s, v, false);
}
inline Value I(Shape s, const std::vector<int32_t>& v) {
  return MakeValue(graph::DType::kInt32, s, v, false);
}
inline Value B(Shape s, const std::vector<uint8_t>& v) {
  return MakeValue(graph::DType::kBool, s, v, false);
}
inline Value CF(Shape s, const std::vector<float>& v) {
  return MakeValue(graph::DType::kFloat32, s, v, true);
}
inline Value CI(Shape s, const std::vector<int32_t>& v) {
  return MakeValue(graph::DType::kInt32, s, v, true);
}
inline Value CI64(Shape s, const std::vector<int64_t>& v) {
  return MakeValue(graph::DType::kInt64, s, v, true);
}
inline Value Absent() { return Value{graph::DType::kFloat32, {}, {}, false}; }

struct OutSpec {
  graph::DType dtype;
  Shape shape;
  graph::QuantParams quant = {};
};

// Per-tensor quantization parameters for Value::quant / OutSpec::quant.
inline graph::QuantParams PerTensor(float scale, int64_t zero_point) {
  graph::QuantParams q;
  q.scale = {scale};
  q.zero_point = {zero_point};
  return q;
}

// Builds a one-op model (absent inputs: a Value with dtype float32, empty shape and
// no bytes created by Absent()), runs it once and returns the outputs. Errors from
// Create or Invoke come back as the status.
Result<std::vector<Value>> RunOp(graph::OpCode code, graph::OpOptions options,
                                 const std::vector<Value>& inputs,
                                 const std::vector<OutSpec>& outputs,
                                 InterpreterOptions interpreter_options = {});

}  // namespace liteq::runtime::testing

// ASSERT_OK_AND_ASSIGN(auto x, Expr()): fails the test with the status message.
#define LITEQ_TEST_ASSIGN_IMPL_(tmp, lhs, expr)     \
  auto tmp = (expr);                                \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(tmp).value()
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  LITEQ_TEST_ASSIGN_IMPL_(LITEQ_CONCAT_(liteq_test_result_, __LINE__), lhs, expr)
#define ASSERT_OK(expr)                    \
  do {                                     \
    const ::liteq::Status s_ = (expr);     \
    ASSERT_TRUE(s_.ok()) << s_.ToString(); \
  } while (0)

#endif  // LITEQ_TESTS_RUNTIME_GRAPH_BUILDER_H_
