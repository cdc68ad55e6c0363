// Which ops of a float graph can run on integers in liteq's runtime and LiteRT, and why
// the others stay float (QUANT_SPEC.md, per-op requirements).
#include "quant/integer_ops.h"

#include "tokenizer/unicode.h"

namespace liteq::quant {
namespace {

using graph::DType;
using graph::OpCode;

bool IsConstant(const graph::Subgraph& sg, int32_t t) {
  return t >= 0 && sg.tensors[t].buffer != 0;
}
bool IsFloat32(const graph::Subgraph& sg, int32_t t) {
  return sg.tensors[t].dtype == DType::kFloat32;
}

}  // namespace

std::string FloatReason(const IntegerOpContext& c, const graph::Op& op) {
  const bool int16 = c.activations == DType::kInt16;
  if (c.float_ops && !c.float_ops->FindAll(graph::OpCodeName(op.code)).empty()) {
    return "matches --float-ops";
  }
  for (int32_t t : op.outputs) {
    if (t >= 0 && c.float_tensors &&
        !c.float_tensors->FindAll(tokenizer::ToValidUtf8Lossy(c.subgraph.tensors[t].name))
             .empty()) {
      return "output matches --float-tensors";
    }
    if (t >= 0 && !IsFloat32(c.subgraph, t)) return "has a non-float output";
  }
  auto float_input = [&](size_t i) {
    return i < op.inputs.size() && op.inputs[i] >= 0 && IsFloat32(c.subgraph, op.inputs[i]);
  };
  switch (op.code) {
    case OpCode::kFullyConnected: {
      if (!float_input(0) || IsConstant(c.subgraph, op.inputs[0]))
        return "input is not a float activation";
      if (op.inputs.size() < 2 || !IsConstant(c.subgraph, op.inputs[1]) ||
          !IsFloat32(c.subgraph, op.inputs[1]) ||
          c.subgraph.tensors[op.inputs[1]].shape.size() != 2) {
        return "weights are not a float constant [out, in]";
      }
      if (op.inputs.size() > 2 && op.inputs[2] >= 0 && !IsConstant(c.subgraph, op.inputs[2])) {
        return "bias is not a constant";
      }
      const auto* o = std::get_if<graph::FullyConnectedOptions>(&op.options);
      if (o != nullptr && o->activation != graph::Activation::kNone) return "fused activation";
      return "";
    }
    case OpCode::kBatchMatmul:
    case OpCode::kAdd:
    case OpCode::kSub:
    case OpCode::kMul:
      if (!float_input(0) || !float_input(1)) return "inputs are not float";
      if (IsConstant(c.subgraph, op.inputs[0]) && IsConstant(c.subgraph, op.inputs[1]))
        return "both inputs are constant";
      return "";
    case OpCode::kSoftmax:
      return float_input(0) ? "" : "input is not float";
    case OpCode::kMean:
      // TFLite has an int16 kernel for this; liteq's runtime does not yet.
      if (int16) return "liteq has no int16 kernel for this op yet";
      return float_input(0) ? "" : "input is not float";
    case OpCode::kLogistic:
    case OpCode::kTanh:
      // int8: TFLite's table kernels; int16: TFLite's interpolated sigmoid table
      // (runtime quantized/logistic_tanh_int16.h). Outputs get the fixed parameters
      // TFLite requires (static_quantizer.cc ComputeParams).
      return float_input(0) ? "" : "input is not float";
    case OpCode::kRsqrt:
      if (int16) return "no int16 RSQRT kernel (TFLite has int8 only)";
      return float_input(0) ? "" : "input is not float";
    case OpCode::kGelu:
      if (int16) return "no int16 GELU kernel (TFLite has int8 only)";
      return float_input(0) ? "" : "input is not float";
    case OpCode::kGather:
      if (!float_input(0)) return "params are not float";
      if (op.inputs.size() < 2 || c.subgraph.tensors[op.inputs[1]].dtype != DType::kInt32) {
        return "indices are not int32";
      }
      return "";
    case OpCode::kReshape:
    case OpCode::kSqueeze:
    case OpCode::kTranspose:
    case OpCode::kSlice:
    case OpCode::kStridedSlice:
      if (!float_input(0) || IsConstant(c.subgraph, op.inputs[0]))
        return "input is not a float activation";
      return "";
    case OpCode::kConcatenation:
      for (size_t i = 0; i < op.inputs.size(); ++i) {
        if (!float_input(i)) return "inputs are not float";
      }
      return "";
    case OpCode::kSelectV2:
      // TFLite select.cc copies quantized values: operands share the output's params.
      if (op.inputs.size() != 3 || op.inputs[0] < 0 ||
          c.subgraph.tensors[op.inputs[0]].dtype != DType::kBool) {
        return "condition is not bool";
      }
      return float_input(1) && float_input(2) ? "" : "operands are not float";
    case OpCode::kDynamicUpdateSlice:
      if (!c.kv_cache_int) {
        return "the KV cache is float32 (--kv-dtype float32; --kv-dtype int8 makes it integer, "
               "but LiteRT's JavaScript API cannot load int8 signature inputs)";
      }
      if (c.cache_inputs.count(op.inputs[0]) == 0) return "operand is not a KV cache input";
      return float_input(1) ? "" : "update is not float";
    default:
      return std::string("liteq has no integer kernel for ") + graph::OpCodeName(op.code);
  }
}

int RewriteNegAsMul(graph::Model& model, const tokenizer::Regex* float_ops,
                    const tokenizer::Regex* float_tensors) {
  if (float_ops != nullptr && !float_ops->FindAll("NEG").empty()) return 0;
  int rewritten = 0;
  for (graph::Subgraph& sg : model.subgraphs) {
    for (graph::Op& op : sg.ops) {
      if (op.code != OpCode::kNeg || op.inputs.size() != 1 || op.outputs.size() != 1) continue;
      const int32_t x = op.inputs[0];
      const int32_t y = op.outputs[0];
      if (x < 0 || y < 0 || IsConstant(sg, x) || !IsFloat32(sg, x) || !IsFloat32(sg, y) ||
          !sg.tensors[x].quant.empty()) {
        continue;
      }
      const std::string& name = sg.tensors[y].name;
      if (float_tensors != nullptr &&
          !float_tensors->FindAll(tokenizer::ToValidUtf8Lossy(name)).empty()) {
        continue;
      }
      graph::Tensor minus_one;
      minus_one.name = name + "/minus_one";
      minus_one.dtype = DType::kFloat32;
      minus_one.buffer = model.AddBuffer(graph::Buffer::FromValues(std::vector<float>{-1.0f}));
      sg.tensors.push_back(std::move(minus_one));
      op.code = OpCode::kMul;
      op.inputs = {x, static_cast<int32_t>(sg.tensors.size() - 1)};
      op.options = graph::BinaryOptions{};
      ++rewritten;
    }
  }
  return rewritten;
}

std::set<int> NormStatisticsOps(const graph::Subgraph& sg, const std::vector<int>& producer) {
  std::set<int> ops;
  auto producer_of = [&](int32_t t, OpCode code) -> int {
    if (t < 0 || producer[t] < 0 || sg.ops[producer[t]].code != code) return -1;
    return producer[t];
  };
  for (size_t i = 0; i < sg.ops.size(); ++i) {
    const graph::Op& rsqrt = sg.ops[i];
    if (rsqrt.code != OpCode::kRsqrt || rsqrt.inputs.empty()) continue;
    const int add = producer_of(rsqrt.inputs[0], OpCode::kAdd);
    if (add < 0) continue;
    const graph::Op& add_op = sg.ops[add];
    const int mean =
        IsConstant(sg, add_op.inputs[1]) ? producer_of(add_op.inputs[0], OpCode::kMean) : -1;
    if (mean < 0) continue;
    const int square = producer_of(sg.ops[mean].inputs[0], OpCode::kMul);
    if (square < 0 || sg.ops[square].inputs[0] != sg.ops[square].inputs[1]) continue;
    ops.insert({static_cast<int>(i), add, mean, square});
  }
  return ops;
}

}  // namespace liteq::quant
