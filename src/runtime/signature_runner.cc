#include <cstring>

#include "runtime/execution_plan.h"
#include "runtime/kernels/shape_util.h"
#include "runtime/row_select.h"

namespace liteq::runtime {

SignatureRunner::SignatureRunner(Interpreter* interpreter) : interpreter_(interpreter) {}
SignatureRunner::~SignatureRunner() = default;

const graph::Signature& SignatureRunner::signature() const { return *plan_->signature; }
const PlanReport& SignatureRunner::plan_report() const { return plan_->report; }
const ExecutionCounters& SignatureRunner::counters() const { return plan_->counters; }

namespace {

TensorView MakeView(const graph::Tensor& t, void* data) {
  TensorView view;
  view.dtype = t.dtype;
  view.shape = t.shape;
  view.data = data;
  view.bytes = graph::TensorBytes(t.dtype, NumElements(t.shape));
  return view;
}

Result<int32_t> FindByName(const std::vector<std::pair<std::string, int32_t>>& list,
                           const std::string& name, const std::string& key, const char* kind) {
  std::string known;
  for (const auto& [n, t] : list) {
    if (n == name) return t;
    known += (known.empty() ? "" : ", ") + n;
  }
  return NotFoundError("signature '" + key + "' has no " + kind + " '" + name +
                       "' (it has: " + known + ")");
}

}  // namespace

Result<TensorView> SignatureRunner::Input(const std::string& name) {
  LITEQ_ASSIGN_OR_RETURN(
      int32_t t, FindByName(plan_->signature->inputs, name, plan_->signature->key, "input"));
  // A state input may be bound to a snapshot internally; callers always see the state.
  auto state = interpreter_->State(name);
  for (const auto& [out_name, out_t] : plan_->signature->outputs) {
    if (out_name == name && state.ok()) return state;
  }
  return MakeView(plan_->subgraph->tensors[t], plan_->tensor_data[t]);
}

Result<TensorView> SignatureRunner::Output(const std::string& name) {
  LITEQ_ASSIGN_OR_RETURN(
      int32_t t, FindByName(plan_->signature->outputs, name, plan_->signature->key, "output"));
  return MakeView(plan_->subgraph->tensors[t], plan_->tensor_data[t]);
}

Result<TensorView> SignatureRunner::TensorByName(const std::string& tensor_name) {
  const auto& tensors = plan_->subgraph->tensors;
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (tensors[t].name != tensor_name) continue;
    if (!plan_->readable[t]) {
      return FailedPreconditionError(
          "tensor '" + tensor_name + "' of signature '" + plan_->signature->key +
          "' is an intermediate whose memory is reused; create the interpreter "
          "with preserve_all_tensors to read it");
    }
    return MakeView(tensors[t], plan_->tensor_data[t]);
  }
  return NotFoundError("signature '" + plan_->signature->key + "' has no tensor named '" +
                       tensor_name + "'");
}

Status SignatureRunner::SelectOutputRow(const std::string& output_name, int64_t row) {
  LITEQ_RETURN_IF_ERROR(
      FindByName(plan_->signature->outputs, output_name, plan_->signature->key, "output").status());
  auto it = plan_->row_select.find(output_name);
  if (it == plan_->row_select.end()) {
    return UnimplementedError("output '" + output_name + "' of signature '" +
                              plan_->signature->key +
                              "' is not produced row by row by a FULLY_CONNECTED");
  }
  const int64_t rows = it->second.front()->rows();
  if (row < -1 || row >= rows) {
    return OutOfRangeError("row " + std::to_string(row) + " of output '" + output_name +
                           "' (it has " + std::to_string(rows) + " rows)");
  }
  for (RowSelectKernel* kernel : it->second) kernel->set_row(row);
  return Status::Ok();
}

Status SignatureRunner::Invoke() {
  for (const Plan::Snapshot& s : plan_->snapshots) {
    std::memcpy(s.copy, s.state, s.bytes);
    ++plan_->counters.state_snapshots;
  }
  EvalContext ctx;
  ctx.tensors = plan_->tensor_data;
  ctx.scratch = interpreter_->impl_->scratch.data();
  ctx.counters = &plan_->counters;
  ctx.pool = interpreter_->impl_->pool.get();
  ScratchContents scratch_contents;
  ctx.scratch_contents = &scratch_contents;
  for (auto& kernel : plan_->kernels) {
    LITEQ_RETURN_IF_ERROR(kernel->Eval(ctx));
    ++ctx.step;
  }
  ++plan_->counters.invocations;
  return Status::Ok();
}

}  // namespace liteq::runtime
