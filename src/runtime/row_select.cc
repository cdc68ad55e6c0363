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

RowSelectableFc FindRowSelectableFc(const graph::Subgraph& sg, int32_t output,
                                    std::span<const int> producer, std::span<const int> readers,
                                    std::span<const uint8_t* const> constants) {
  RowSelectableFc found;
  const graph::Tensor& out = sg.tensors[output];
  if (out.shape.empty() || out.shape.back() == 0) return found;
  const int64_t rows = NumElements(out.shape) / out.shape.back();
  int32_t t = output;
  // A chain is at most a few ops long (DEQUANTIZE, soft-capping); the bound only
  // guards against malformed graphs.
  for (int steps = 0; steps < 8; ++steps) {
    const int op_index = producer[t];
    if (op_index < 0) return found;
    const graph::Op& op = sg.ops[op_index];
    if (t != output && readers[t] != 1) return found;
    if (op.code == graph::OpCode::kFullyConnected) {
      if (op.inputs.size() < 2 || op.outputs.size() != 1) return found;
      const graph::Tensor& in = sg.tensors[op.inputs[0]];
      const graph::Tensor& fc_out = sg.tensors[op.outputs[0]];
      if (in.shape.empty() || fc_out.shape.empty() || in.shape.back() == 0) return found;
      const int64_t in_rows = NumElements(in.shape) / in.shape.back();
      const int64_t out_rows = NumElements(fc_out.shape) / fc_out.shape.back();
      if (in_rows != rows || out_rows != rows || rows < 2) return found;
      found.fc_op = op_index;
      found.rows = rows;
      auto one_row = std::make_shared<graph::Subgraph>(sg);
      one_row->tensors[op.inputs[0]].shape = OneRow(in.shape);
      one_row->tensors[op.outputs[0]].shape = OneRow(fc_out.shape);
      found.one_row = std::move(one_row);
      return found;
    }
    const int32_t next = RowWiseInput(sg, op, constants);
    if (next < 0) return found;
    const graph::Tensor& in = sg.tensors[next];
    if (in.shape.empty() || in.shape.back() == 0 ||
        NumElements(in.shape) / in.shape.back() != rows) {
      return found;
    }
    t = next;
  }
  return found;
}

RowSelectKernel::RowSelectKernel(std::unique_ptr<Kernel> all_rows, std::unique_ptr<Kernel> one_row,
                                 const graph::Subgraph& sg, int fc_op, const RowSelectableFc& fc)
    : all_rows_(std::move(all_rows)),
      one_row_(std::move(one_row)),
      one_row_subgraph_(fc.one_row),
      rows_(fc.rows) {
  const graph::Op& op = sg.ops[fc_op];
  input_ = op.inputs[0];
  output_ = op.outputs[0];
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
