// Dynamic-range int8: see quantizer.h.
#include <map>
#include <set>

#include "graph/prune.h"
#include "quant/quantizer.h"
#include "quant/rewrite_util.h"

namespace liteq::quant {
namespace {

using graph::DType;
using graph::OpCode;

struct Int8Buffer {
  uint32_t buffer = 0;
  std::vector<float> scales;
};

class DynamicRewriter {
 public:
  DynamicRewriter(graph::Model& model, const WeightOnlyOptions& options)
      : model_(model), options_(options) {}

  Result<QuantizeReport> Run() {
    // Buffers read by the token-embedding GATHER take the embedding granularity, for
    // every use (a tied lm head shares the int8 table).
    for (uint32_t s = 0; s < model_.subgraphs.size(); ++s) {
      const std::set<int32_t> tokens = TokenTensors(model_, s);
      for (const graph::Op& op : model_.subgraphs[s].ops) {
        if (IsEmbeddingGather(model_.subgraphs[s], op, tokens)) {
          embedding_buffers_.insert(model_.subgraphs[s].tensors[op.inputs[0]].buffer);
        }
      }
    }
    for (uint32_t s = 0; s < model_.subgraphs.size(); ++s) LITEQ_RETURN_IF_ERROR(Rewrite(s));
    graph::PruneUnused(model_);
    return report_;
  }

 private:
  bool Quantizable(const graph::Tensor& t) const {
    return IsFloatConstant(model_, t) && options_.float_buffers.count(t.buffer) == 0;
  }

  bool IsEmbeddingGather(const graph::Subgraph& sg, const graph::Op& op,
                         const std::set<int32_t>& tokens) const {
    return op.code == OpCode::kGather && op.inputs.size() == 2 && op.inputs[0] >= 0 &&
           tokens.count(op.inputs[1]) != 0 && Quantizable(sg.tensors[op.inputs[0]]) &&
           sg.tensors[op.inputs[0]].shape.size() == 2;
  }

  bool PerTensor(uint32_t buffer) const {
    Granularity g = embedding_buffers_.count(buffer) != 0 ? options_.embedding_granularity
                                                          : options_.granularity;
    if (auto o = options_.overrides.find(buffer);
        o != options_.overrides.end() && o->second.granularity) {
      g = *o->second.granularity;  // (bits are 8 here: ResolveWeightRules refuses int4)
    }
    return g == Granularity::kPerTensor;
  }

  Result<Int8Buffer> Quantize(const graph::Tensor& t) {
    if (auto it = buffers_.find(t.buffer); it != buffers_.end()) return it->second;
    const graph::Buffer original = model_.buffers[t.buffer];
    const int64_t rows = t.shape[0];
    const int64_t count = NumElements(t.shape);
    if (rows <= 0 || original.size != graph::TensorBytes(DType::kFloat32, count)) {
      return InvalidArgumentError("dynamic int8: constant '" + t.name +
                                  "' is not float32 of its shape");
    }
    const bool per_tensor = PerTensor(t.buffer);
    const WeightLayout layout{rows, count / rows, per_tensor, 8, 0};
    Int8Buffer out;
    LITEQ_ASSIGN_OR_RETURN(out.scales, StreamedSymmetricScales(original, layout, t.name));
    out.buffer = model_.AddBuffer(LazySymmetricWeights(original, layout, t.name));
    ++report_.quantized_buffers;
    if (per_tensor) ++report_.per_tensor_buffers;
    report_.float_bytes += original.size;
    report_.int8_bytes += static_cast<size_t>(count);
    buffers_[t.buffer] = out;
    return out;
  }

  Result<int32_t> Int8Tensor(graph::Subgraph& sg, int32_t t) {
    if (auto it = int8_tensor_.find(t); it != int8_tensor_.end()) return it->second;
    LITEQ_ASSIGN_OR_RETURN(Int8Buffer q, Quantize(sg.tensors[t]));
    graph::Tensor tensor = sg.tensors[t];
    tensor.dtype = DType::kInt8;
    tensor.buffer = q.buffer;
    tensor.quant.scale = q.scales;
    tensor.quant.zero_point.assign(q.scales.size(), 0);
    tensor.quant.quantized_dimension = 0;
    sg.tensors.push_back(std::move(tensor));
    const auto index = static_cast<int32_t>(sg.tensors.size() - 1);
    int8_tensor_[t] = index;
    return index;
  }

  int32_t AddActivation(graph::Subgraph& sg, std::string name, DType dtype,
                        std::vector<int32_t> shape) {
    graph::Tensor t;
    t.name = std::move(name);
    t.dtype = dtype;
    t.shape = std::move(shape);
    sg.tensors.push_back(std::move(t));
    return static_cast<int32_t>(sg.tensors.size() - 1);
  }

  graph::Op Reshape(graph::Subgraph& sg, int32_t from, int32_t to) {
    const std::vector<int32_t> shape = sg.tensors[to].shape;
    graph::Tensor shape_t;
    shape_t.name = sg.tensors[to].name + ".shape";
    shape_t.dtype = DType::kInt32;
    shape_t.shape = {static_cast<int32_t>(shape.size())};
    shape_t.buffer = model_.AddBuffer(graph::Buffer::FromValues(shape));
    sg.tensors.push_back(std::move(shape_t));
    graph::Op op;
    op.code = OpCode::kReshape;
    op.inputs = {from, static_cast<int32_t>(sg.tensors.size() - 1)};
    op.outputs = {to};
    op.options = graph::ReshapeOptions{shape};
    return op;
  }

  Status Rewrite(uint32_t s) {
    graph::Subgraph& sg = model_.subgraphs[s];
    int8_tensor_.clear();
    const std::set<int32_t> tokens = TokenTensors(model_, s);
    std::vector<graph::Op> ops;
    std::vector<graph::Op> old_ops = std::move(sg.ops);
    for (graph::Op& op : old_ops) {
      if (op.code == OpCode::kFullyConnected && op.inputs.size() >= 2 && op.inputs[1] >= 0 &&
          Quantizable(sg.tensors[op.inputs[1]]) && sg.tensors[op.inputs[1]].shape.size() == 2 &&
          op.inputs[0] >= 0 && sg.tensors[op.inputs[0]].dtype == DType::kFloat32) {
        LITEQ_ASSIGN_OR_RETURN(op.inputs[1], Int8Tensor(sg, op.inputs[1]));
        if (auto* o = std::get_if<graph::FullyConnectedOptions>(&op.options)) {
          o->asymmetric_quantize_inputs = true;
        }
        ++report_.hybrid_ops;
        ops.push_back(std::move(op));
        continue;
      }
      if (IsEmbeddingGather(sg, op, tokens)) {
        // EMBEDDING_LOOKUP takes 1-D ids and gives [ids, hidden]: reshape around it.
        const int32_t ids = op.inputs[1];
        const int32_t out = op.outputs[0];
        const int64_t count = NumElements(sg.tensors[ids].shape);
        const int32_t hidden = sg.tensors[op.inputs[0]].shape[1];
        LITEQ_ASSIGN_OR_RETURN(const int32_t table, Int8Tensor(sg, op.inputs[0]));
        const int32_t flat_ids = AddActivation(sg, sg.tensors[ids].name + ".flat", DType::kInt32,
                                               {static_cast<int32_t>(count)});
        const int32_t rows = AddActivation(sg, sg.tensors[out].name + ".rows", DType::kFloat32,
                                           {static_cast<int32_t>(count), hidden});
        ops.push_back(Reshape(sg, ids, flat_ids));
        graph::Op lookup;
        lookup.code = OpCode::kEmbeddingLookup;
        lookup.inputs = {flat_ids, table};
        lookup.outputs = {rows};
        ops.push_back(std::move(lookup));
        ops.push_back(Reshape(sg, rows, out));
        ++report_.hybrid_ops;
        continue;
      }
      ops.push_back(std::move(op));
    }
    sg.ops = std::move(ops);
    return Status::Ok();
  }

  graph::Model& model_;
  const WeightOnlyOptions& options_;
  std::set<uint32_t> embedding_buffers_;
  std::map<uint32_t, Int8Buffer> buffers_;
  std::map<int32_t, int32_t> int8_tensor_;
  QuantizeReport report_;
};

}  // namespace

Result<QuantizeReport> QuantizeDynamicInt8(graph::Model& model, const WeightOnlyOptions& options) {
  return DynamicRewriter(model, options).Run();
}

}  // namespace liteq::quant
