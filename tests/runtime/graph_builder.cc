#include "graph_builder.h"

namespace liteq::runtime::testing {

Result<std::vector<Value>> RunOp(graph::OpCode code, graph::OpOptions options,
                                 const std::vector<Value>& inputs,
                                 const std::vector<OutSpec>& outputs,
                                 InterpreterOptions interpreter_options) {
  GraphBuilder g;
  g.BeginSignature("main");
  std::vector<int32_t> in_idx, out_idx;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Value& v = inputs[k];
    const std::string name = "in" + std::to_string(k);
    if (v.dtype == graph::DType::kFloat32 && v.shape.empty() && v.bytes.empty()) {
      in_idx.push_back(-1);  // Absent()
    } else if (v.constant) {
      in_idx.push_back(g.Const(name, v.dtype, v.shape, v.bytes));
    } else {
      in_idx.push_back(g.Input(name, v.dtype, v.shape));
    }
    if (in_idx.back() >= 0) g.sg().tensors[in_idx.back()].quant = v.quant;
  }
  for (size_t k = 0; k < outputs.size(); ++k) {
    const std::string name = "out" + std::to_string(k);
    out_idx.push_back(g.Tensor(name, outputs[k].dtype, outputs[k].shape));
    g.sg().tensors[out_idx.back()].quant = outputs[k].quant;
    g.Output(name, out_idx.back());
  }
  g.Op(code, in_idx, out_idx, std::move(options));
  LITEQ_ASSIGN_OR_RETURN(auto interpreter, Interpreter::Create(g.model(), interpreter_options));
  LITEQ_ASSIGN_OR_RETURN(SignatureRunner * runner, interpreter->GetSignature("main"));
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (in_idx[k] < 0 || inputs[k].constant) continue;
    LITEQ_ASSIGN_OR_RETURN(TensorView view, runner->Input("in" + std::to_string(k)));
    if (view.bytes != inputs[k].bytes.size()) return InternalError("test input size mismatch");
    if (view.bytes > 0) std::memcpy(view.data, inputs[k].bytes.data(), view.bytes);
  }
  LITEQ_RETURN_IF_ERROR(runner->Invoke());
  std::vector<Value> result;
  for (size_t k = 0; k < outputs.size(); ++k) {
    LITEQ_ASSIGN_OR_RETURN(TensorView view, runner->Output("out" + std::to_string(k)));
    Value v{view.dtype, view.shape, std::vector<uint8_t>(view.bytes), false};
    if (view.bytes > 0) std::memcpy(v.bytes.data(), view.data, view.bytes);
    result.push_back(std::move(v));
  }
  return result;
}

}  // namespace liteq::runtime::testing
