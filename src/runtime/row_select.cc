#include "runtime/row_select.h"

#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

bool IsConstantScalar(const graph::Subgraph& sg, int32_t t,
                      std::span<const uint8_t* const> constants) {
  return t >= 0 && constants[t] != nullptr && NumElements(sg.tensors[t].shape) == 1;
}

// The input of `op` that carries the rows when `op` maps each row of it to the same
// row of its output, else -1.
int32_t RowWiseInput(const graph::Subgraph& sg, const graph::Op& op,
                     std::span<const uint8_t* const> constants) {
  if (op.inputs.empty() || op.outputs.size() != 1) return -1;
  switch (op.code) {
    case graph::OpCode::kReshape:
    case graph::OpCode::kSqueeze:
    case graph::OpCode::kDequantize:
    case graph::OpCode::kQuantize:
    case graph::OpCode::kTanh:
    case graph::OpCode::kLogistic:
      return op.inputs[0];
    case graph::OpCode::kMul:
    case graph::OpCode::kDiv:
      if (op.inputs.size() != 2) return -1;
      if (IsConstantScalar(sg, op.inputs[1], constants)) return op.inputs[0];
      if (op.code == graph::OpCode::kMul && IsConstantScalar(sg, op.inputs[0], constants)) {
        return op.inputs[1];
      }
      return -1;
    default:
      return -1;
  }
}

// The same shape with every dimension but the last set to 1.
std::vector<int32_t> OneRow(const std::vector<int32_t>& shape) {
  std::vector<int32_t> one(shape.size(), 1);
  if (!shape.empty()) one.back() = shape.back();
  return one;
}

}  // namespace

RowSelectableChain FindRowSelectableChain(const graph::Subgraph& sg, int32_t output,
                                          std::span<const int> producer,
                                          std::span<const int> readers,
                                          std::span<const uint8_t* const> constants) {
  RowSelectableChain chain;
  auto rows_of = [&](int32_t t) -> int64_t {
    const std::vector<int32_t>& shape = sg.tensors[t].shape;
    return shape.empty() || shape.back() == 0 ? -1 : NumElements(shape) / shape.back();
  };
  const int64_t rows = rows_of(output);
  if (rows < 2) return chain;
  std::vector<RowSelectableChain::Step> steps;  // from the output back to the FC
  int32_t t = output;
  // A chain is at most a few ops long (DEQUANTIZE, soft-capping); the bound only
  // guards against malformed graphs.
  for (int n = 0; n < 8; ++n) {
    const int op_index = producer[t];
    if (op_index < 0) return chain;
    const graph::Op& op = sg.ops[op_index];
    if (t != output && readers[t] != 1) return chain;
    if (op.outputs.size() != 1) return chain;
    const int32_t in = op.code == graph::OpCode::kFullyConnected && op.inputs.size() >= 2
                           ? op.inputs[0]
                           : RowWiseInput(sg, op, constants);
    if (in < 0 || rows_of(in) != rows) return chain;
    steps.push_back({op_index, in});
    if (op.code != graph::OpCode::kFullyConnected) {
      t = in;
      continue;
    }
    // Only the tensors whose shape changes are copied; a copy of the whole subgraph
    // (every tensor slot and op of a prefill graph, and the quantization vectors of a
    // tied head's weights) was 1 MB for SmolLM2-135M.
    auto one_row = std::make_shared<std::vector<TensorOverride>>();
    auto add = [&](int32_t index) {
      for (const TensorOverride& o : *one_row) {
        if (o.index == index) return;
      }
      TensorOverride o{index, sg.tensors[index]};
      o.tensor.shape = OneRow(o.tensor.shape);
      one_row->push_back(std::move(o));
    };
    for (const RowSelectableChain::Step& s : steps) {
      add(s.row_input);
      add(sg.ops[s.op].outputs[0]);
    }
    chain.rows = rows;
    chain.steps.assign(steps.rbegin(), steps.rend());
    chain.one_row = std::move(one_row);
    return chain;
  }
  return chain;
}

RowSelectKernel::RowSelectKernel(std::unique_ptr<Kernel> all_rows, std::unique_ptr<Kernel> one_row,
                                 const graph::Subgraph& sg, const RowSelectableChain& chain,
                                 const RowSelectableChain::Step& step)
    : all_rows_(std::move(all_rows)),
      one_row_(std::move(one_row)),
      one_row_tensors_(chain.one_row),
      rows_(chain.rows) {
  input_ = step.row_input;
  output_ = sg.ops[step.op].outputs[0];
  const graph::Tensor& in = sg.tensors[input_];
  const graph::Tensor& out = sg.tensors[output_];
  input_row_bytes_ = graph::TensorBytes(in.dtype, NumElements(in.shape) / rows_);
  output_row_bytes_ = graph::TensorBytes(out.dtype, NumElements(out.shape) / rows_);
  tensors_.assign(sg.tensors.size(), nullptr);
}

Status RowSelectKernel::Eval(const EvalContext& ctx) {
  if (row_ < 0) return all_rows_->Eval(ctx);
  LITEQ_CHECK(row_ < rows_ && ctx.tensors.size() == tensors_.size());
  std::copy(ctx.tensors.begin(), ctx.tensors.end(), tensors_.begin());
  tensors_[input_] = static_cast<uint8_t*>(tensors_[input_]) + row_ * input_row_bytes_;
  tensors_[output_] = static_cast<uint8_t*>(tensors_[output_]) + row_ * output_row_bytes_;
  EvalContext one = ctx;
  one.tensors = tensors_;
  return one_row_->Eval(one);
}

}  // namespace liteq::runtime
