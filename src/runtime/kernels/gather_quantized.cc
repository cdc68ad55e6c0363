// Hybrid EMBEDDING_LOOKUP (TFLite embedding_lookup.cc EvalHybrid): int32 ids, an int8
// or int4 table [rows, ...] quantized per tensor or per row (quantized_dimension 0,
// zero point 0), float32 output = the dequantized rows (quantized/gather_int.h).
// The same kernel runs GATHER on a DEQUANTIZE of such a table (gather_quantized.h):
// its rows are float(double(scale) * q), equal to DEQUANTIZE's float(double(scale) *
// q) per tensor and float(q) * scale per row (the product of a float and an 8-bit
// integer is exact in double, so both round it once to the same float).
// A tied int8 table is read from the output head's packed copy (TiedPackedTable).
#include "runtime/kernels/gather_quantized.h"

#include <cmath>
#include <memory>

#include "runtime/kernels/kernels.h"
#include "runtime/kernels/quantized/gather_int.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

class HybridLookupKernel : public Kernel {
 public:
  // `scales` are the model's quantization vector, which outlives the kernel: a per-row
  // table's scales are not copied for each signature (49152 floats for SmolLM2's
  // vocabulary).
  HybridLookupKernel(graph::DType table_type, int64_t rows, int64_t row_size, int64_t count,
                     std::span<const float> scales,
                     std::shared_ptr<const quantized::PackedInt8Weights> packed = nullptr)
      : table_type_(table_type),
        rows_(rows),
        row_size_(row_size),
        count_(count),
        scales_(scales),
        packed_(std::move(packed)) {}

  Status Eval(const EvalContext& ctx) override {
    const std::span<const int32_t> ids(In<int32_t>(ctx, 0), static_cast<size_t>(count_));
    const std::span<float> out(Out<float>(ctx, 0), static_cast<size_t>(count_ * row_size_));
    const auto values = static_cast<size_t>(rows_ * row_size_);
    Status s = packed_ != nullptr
                   ? quantized::EmbeddingLookupHybridInt8Packed(*packed_, scales_, ids, out)
               : table_type_ == graph::DType::kInt8
                   ? quantized::EmbeddingLookupHybridInt8({In<int8_t>(ctx, 1), values}, rows_,
                                                          row_size_, scales_, ids, out)
                   : quantized::EmbeddingLookupHybridInt4({In<uint8_t>(ctx, 1), (values + 1) / 2},
                                                          rows_, row_size_, scales_, ids, out);
    if (!s.ok()) return EvalError(s.code(), s.message());
    return Status::Ok();
  }

 private:
  graph::DType table_type_;
  int64_t rows_, row_size_, count_;
  std::span<const float> scales_;
  std::shared_ptr<const quantized::PackedInt8Weights> packed_;
};

}  // namespace

PrepareResult PrepareEmbeddingLookupHybrid(PrepareContext& ctx) {
  const graph::Tensor& table = ctx.input(1);
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(1, {graph::DType::kInt8, graph::DType::kInt4}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, graph::DType::kFloat32));
  const Shape& ids = ctx.input(0).shape;
  if (ids.size() != 1) return ctx.Error("ids must be 1-D, got " + ShapeToString(ids));
  if (table.shape.empty()) return ctx.Error("the table must have rank >= 1");
  Shape out = table.shape;
  out[0] = ids[0];
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  const int64_t rows = table.shape[0];
  const int64_t row_size = rows == 0 ? 0 : NumElements(table.shape) / rows;
  // Symmetric: one scale, or one per row along dimension 0 (TFLite reads the per-row
  // scales of a per-channel table the same way).
  LITEQ_ASSIGN_OR_RETURN(std::span<const float> scales, SymmetricWeightScales(ctx, 1, rows, 0));
  std::shared_ptr<const quantized::PackedInt8Weights> packed = TiedPackedTable(ctx, 1);
  if (packed != nullptr) ctx.ConstantCopied(1);  // rows come from the head's packed copy
  return PrepareResult(std::make_unique<HybridLookupKernel>(table.dtype, rows, row_size, ids[0],
                                                            scales, std::move(packed)));
}

std::shared_ptr<const quantized::PackedInt8Weights> TiedPackedTable(const PrepareContext& ctx,
                                                                    size_t table_input) {
  const graph::Tensor& table = ctx.input(table_input);
  const uint8_t* data = ctx.constant(table_input);
  if (ctx.use_reference_kernels() || table.dtype != graph::DType::kInt8 || data == nullptr ||
      table.shape.size() != 2) {
    return nullptr;
  }
  const graph::Subgraph& sg = ctx.subgraph();
  for (const graph::Op& op : sg.ops) {
    if (op.code != graph::OpCode::kFullyConnected || op.inputs.size() < 2 || op.inputs[1] < 0) {
      continue;
    }
    const graph::Tensor& w = sg.tensors[op.inputs[1]];
    if (w.buffer == table.buffer && w.dtype == graph::DType::kInt8 && w.shape == table.shape) {
      const auto rows = static_cast<size_t>(table.shape[0]);
      const auto row_size = static_cast<size_t>(table.shape[1]);
      return quantized::SharedPackedInt8Weights(
          {reinterpret_cast<const int8_t*>(data), rows * row_size}, rows, row_size,
          /*release_source=*/true);
    }
  }
  return nullptr;
}

Result<std::unique_ptr<Kernel>> PrepareWeightOnlyGather(PrepareContext& ctx,
                                                        const graph::Tensor& table) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 2, 1));
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(1, {graph::DType::kInt32}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, graph::DType::kFloat32));
  if (table.shape.empty() ||
      (table.dtype != graph::DType::kInt8 && table.dtype != graph::DType::kInt4)) {
    return ctx.Error("'" + table.name + "' is no int8/int4 table");
  }
  if (ctx.input(0).shape != table.shape) {
    return ctx.Error("'" + table.name + "' has shape " + ShapeToString(table.shape) +
                     " but its dequantized table " + ShapeToString(ctx.input(0).shape));
  }
  const Shape& indices = ctx.input(1).shape;
  Shape out = indices;
  out.insert(out.end(), table.shape.begin() + 1, table.shape.end());
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  const int64_t rows = table.shape[0];
  const int64_t row_size = rows == 0 ? 0 : NumElements(table.shape) / rows;
  const auto& quant = table.quant;
  const bool per_row =
      quant.scale.size() == static_cast<size_t>(rows) && quant.quantized_dimension == 0;
  if (quant.scale.size() != 1 && !per_row) {
    return ctx.Error("'" + table.name + "' has " + std::to_string(quant.scale.size()) +
                     " scales for " + std::to_string(rows) + " rows");
  }
  for (size_t i = 0; i < quant.scale.size(); ++i) {
    const int64_t zp = i < quant.zero_point.size() ? quant.zero_point[i] : 0;
    if (!(quant.scale[i] > 0.0f) || !std::isfinite(quant.scale[i]) || zp != 0) {
      return ctx.Error("'" + table.name + "' has scale " + std::to_string(quant.scale[i]) +
                       " and zero point " + std::to_string(zp) + " (symmetric, positive only)");
    }
  }
  return std::unique_ptr<Kernel>(std::make_unique<HybridLookupKernel>(
      table.dtype, rows, row_size, NumElements(indices), quant.scale.span()));
}

}  // namespace liteq::runtime
