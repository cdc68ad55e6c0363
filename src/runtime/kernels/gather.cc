// GATHER (axis, batch_dims) and EMBEDDING_LOOKUP. Indices come from the graph's inputs
// (token ids), so every index is bounds-checked at Eval: out of range is an error
// naming the index and the position, never an out-of-bounds read. An int8 table tied
// to the output head is read from the head's packed copy (TiedPackedTable).
#include <cstring>
#include <memory>

#include "runtime/kernels/copy_kernels.h"
#include "runtime/kernels/gather_quantized.h"
#include "runtime/kernels/kernels.h"

namespace liteq::runtime {
namespace {

// params viewed as [batch, outer, axis_size, inner], indices as [batch, count];
// output [batch, outer, count, inner].
class GatherKernel : public Kernel {
 public:
  struct Dims {
    int64_t batch, outer, axis_size, count, inner;
    size_t element_size;
    bool int64_indices;
  };
  // `packed`: the table (2-D int8, batch = outer = 1) as its packed copy, or null.
  GatherKernel(Dims d, std::shared_ptr<const quantized::PackedInt8Weights> packed)
      : d_(d), packed_(std::move(packed)) {}
  Status Eval(const EvalContext& ctx) override {
    const auto* params = In<uint8_t>(ctx, 0);
    auto* out = Out<uint8_t>(ctx, 0);
    const size_t row = static_cast<size_t>(d_.inner) * d_.element_size;
    for (int64_t b = 0; b < d_.batch; ++b) {
      for (int64_t o = 0; o < d_.outer; ++o) {
        for (int64_t c = 0; c < d_.count; ++c) {
          const int64_t pos = b * d_.count + c;
          const int64_t index =
              d_.int64_indices ? In<int64_t>(ctx, 1)[pos] : In<int32_t>(ctx, 1)[pos];
          if (index < 0 || index >= d_.axis_size) {
            return EvalError(StatusCode::kOutOfRange, "index " + std::to_string(index) +
                                                          " at position " + std::to_string(pos) +
                                                          " is outside [0, " +
                                                          std::to_string(d_.axis_size) + ")");
          }
          const int64_t src = ((b * d_.outer + o) * d_.axis_size + index) * d_.inner;
          if (packed_ != nullptr) {
            packed_->CopyRow(static_cast<size_t>(index), reinterpret_cast<int8_t*>(out));
          } else if (row > 0) {
            std::memcpy(out, params + src * static_cast<int64_t>(d_.element_size), row);
          }
          out += row;
        }
      }
    }
    return Status::Ok();
  }

 private:
  Dims d_;
  std::shared_ptr<const quantized::PackedInt8Weights> packed_;
};

}  // namespace

PrepareResult PrepareGather(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 2, 1));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, ctx.input(0).dtype));
  LITEQ_ASSIGN_OR_RETURN(size_t element_size, ElementSizeForCopy(ctx));
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(1, {graph::DType::kInt32, graph::DType::kInt64}));
  graph::GatherOptions o;
  if (const auto* p = std::get_if<graph::GatherOptions>(&ctx.op().options)) o = *p;
  const Shape& params = ctx.input(0).shape;
  const Shape& indices = ctx.input(1).shape;
  const int prank = static_cast<int>(params.size()), irank = static_cast<int>(indices.size());
  const int axis = NormalizeAxis(o.axis, prank);
  if (axis < 0)
    return ctx.Error("axis " + std::to_string(o.axis) + " is out of range for params of rank " +
                     std::to_string(prank));
  const int batch_dims = o.batch_dims < 0 ? o.batch_dims + irank : o.batch_dims;
  if (batch_dims < 0 || batch_dims > irank || batch_dims > axis) {
    return ctx.Error("batch_dims " + std::to_string(o.batch_dims) +
                     " is invalid for indices of rank " + std::to_string(irank) + " and axis " +
                     std::to_string(axis));
  }
  GatherKernel::Dims d{
      1, 1, params[axis], 1, 1, element_size, ctx.input(1).dtype == graph::DType::kInt64};
  Shape out;
  for (int i = 0; i < batch_dims; ++i) {
    if (params[i] != indices[i]) {
      return ctx.Error("batch dim " + std::to_string(i) + " differs: params " +
                       ShapeToString(params) + ", indices " + ShapeToString(indices));
    }
    d.batch *= params[i];
    out.push_back(params[i]);
  }
  for (int i = batch_dims; i < axis; ++i) {
    d.outer *= params[i];
    out.push_back(params[i]);
  }
  for (int i = batch_dims; i < irank; ++i) {
    d.count *= indices[i];
    out.push_back(indices[i]);
  }
  for (int i = axis + 1; i < prank; ++i) {
    d.inner *= params[i];
    out.push_back(params[i]);
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  std::shared_ptr<const quantized::PackedInt8Weights> packed;
  if (d.batch == 1 && d.outer == 1 && axis == 0 && prank == 2) packed = TiedPackedTable(ctx, 0);
  if (packed != nullptr) ctx.ConstantCopied(0);  // rows come from the head's packed copy
  return PrepareResult(std::make_unique<GatherKernel>(d, std::move(packed)));
}

PrepareResult PrepareEmbeddingLookup(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 2, 1));
  // Inputs are (ids, table), the reverse of GATHER.
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(0, {graph::DType::kInt32}));
  const graph::Tensor& table = ctx.input(1);
  const bool quantized_table =
      table.dtype == graph::DType::kInt8 || table.dtype == graph::DType::kInt4;
  if (quantized_table && ctx.output(0).dtype == graph::DType::kFloat32) {
    return PrepareEmbeddingLookupHybrid(ctx);
  }
  const size_t element_size = graph::DTypeSize(table.dtype);
  if (element_size == 0)
    return ctx.Unsupported(std::string("lookup in a ") + graph::DTypeName(table.dtype) + " table");
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, table.dtype));
  const Shape& ids = ctx.input(0).shape;
  if (ids.size() != 1) return ctx.Error("ids must be 1-D, got " + ShapeToString(ids));
  if (table.shape.empty()) return ctx.Error("the table must have rank >= 1");
  Shape out = table.shape;
  out[0] = ids[0];
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  int64_t inner = 1;
  for (size_t i = 1; i < table.shape.size(); ++i) inner *= table.shape[i];
  // GATHER on axis 0 with the inputs in the other order.
  class EmbeddingLookupKernel : public Kernel {
   public:
    EmbeddingLookupKernel(int64_t rows, int64_t count, size_t row_bytes)
        : rows_(rows), count_(count), row_bytes_(row_bytes) {}
    Status Eval(const EvalContext& ctx) override {
      const int32_t* ids = In<int32_t>(ctx, 0);
      const auto* table = In<uint8_t>(ctx, 1);
      auto* out = Out<uint8_t>(ctx, 0);
      for (int64_t i = 0; i < count_; ++i) {
        if (ids[i] < 0 || ids[i] >= rows_) {
          return EvalError(StatusCode::kOutOfRange,
                           "id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                               " is outside [0, " + std::to_string(rows_) + ")");
        }
        if (row_bytes_ > 0)
          std::memcpy(out + i * row_bytes_, table + ids[i] * row_bytes_, row_bytes_);
      }
      return Status::Ok();
    }

   private:
    int64_t rows_, count_;
    size_t row_bytes_;
  };
  return PrepareResult(std::make_unique<EmbeddingLookupKernel>(
      table.shape[0], ids[0], static_cast<size_t>(inner) * element_size));
}

}  // namespace liteq::runtime
