#include "runtime/kernels/dynamic_update_slice.h"

#include <algorithm>
#include <cstring>

#include "runtime/kernels/kernels.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {

std::vector<int64_t> ClampUpdateStart(std::span<const int64_t> start,
                                      std::span<const int32_t> operand,
                                      std::span<const int32_t> update) {
  std::vector<int64_t> clamped(operand.size());
  for (size_t d = 0; d < operand.size(); ++d) {
    clamped[d] = std::clamp<int64_t>(start[d], 0, operand[d] - update[d]);
  }
  return clamped;
}

namespace {

// Writes `update` into `out` at `start`: one memcpy per run of the update's innermost
// dims that are contiguous in `out` (the last dim, and the ones before it while the
// dims after them are whole: a KV-cache update [1, T, kv, hd] of [1, S, kv, hd] is one
// memcpy, not T * kv of head_dim each).
void WriteUpdate(const uint8_t* update, std::span<const int32_t> update_shape,
                 std::span<const int32_t> operand_shape, const int64_t* start, size_t es,
                 uint8_t* out) {
  const int rank = static_cast<int>(operand_shape.size());
  if (rank == 0) {
    std::memcpy(out, update, es);
    return;
  }
  int64_t out_strides[kMaxRuntimeRank];
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    out_strides[d] = stride;
    stride *= operand_shape[d];
  }
  // Dims [inner, rank) form one contiguous run.
  int inner = rank - 1;
  while (inner > 0 && update_shape[inner] == operand_shape[inner]) --inner;
  int64_t rows = 1;
  for (int d = 0; d < inner; ++d) rows *= update_shape[d];
  int64_t run = 1;
  for (int d = inner; d < rank; ++d) run *= update_shape[d];
  const size_t row_bytes = static_cast<size_t>(run) * es;
  if (row_bytes == 0 || rows == 0) return;
  int64_t index[kMaxRuntimeRank] = {};
  int64_t off = 0;
  for (int d = 0; d < rank; ++d) off += start[d] * out_strides[d];
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(out + off * static_cast<int64_t>(es), update, row_bytes);
    update += row_bytes;
    for (int d = inner - 1; d >= 0; --d) {
      if (++index[d] < update_shape[d]) {
        off += out_strides[d];
        break;
      }
      index[d] = 0;
      off -= out_strides[d] * (update_shape[d] - 1);
    }
  }
}

}  // namespace

bool DynamicUpdateSlice(const void* operand, std::span<const int32_t> operand_shape,
                        const void* update, std::span<const int32_t> update_shape,
                        std::span<const int64_t> clamped_start, size_t element_size, void* out) {
  bool copied = false;
  if (out != operand) {
    size_t count = 1;
    for (int32_t d : operand_shape) count *= static_cast<size_t>(d);
    std::memcpy(out, operand, count * element_size);
    copied = true;
  }
  WriteUpdate(static_cast<const uint8_t*>(update), update_shape, operand_shape,
              clamped_start.data(), element_size, static_cast<uint8_t*>(out));
  return copied;
}

namespace {

class DynamicUpdateSliceKernel : public Kernel {
 public:
  DynamicUpdateSliceKernel(Shape operand, Shape update, size_t element_size, bool int64_start)
      : operand_(std::move(operand)),
        update_(std::move(update)),
        element_size_(element_size),
        int64_start_(int64_start) {}

  Status Eval(const EvalContext& ctx) override {
    const int rank = static_cast<int>(operand_.size());
    int64_t start[kMaxRuntimeRank];
    for (int d = 0; d < rank; ++d) {
      const int64_t s = int64_start_ ? In<int64_t>(ctx, 2)[d] : In<int32_t>(ctx, 2)[d];
      start[d] = std::clamp<int64_t>(s, 0, operand_[d] - update_[d]);
    }
    const bool copied =
        DynamicUpdateSlice(In<void>(ctx, 0), operand_, In<void>(ctx, 1), update_,
                           std::span<const int64_t>(start, rank), element_size_, Out<void>(ctx, 0));
    if (copied && ctx.counters != nullptr) ++ctx.counters->dus_full_copies;
    return Status::Ok();
  }

 private:
  Shape operand_, update_;
  size_t element_size_;
  bool int64_start_;
};

}  // namespace

PrepareResult PrepareDynamicUpdateSlice(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(3, 3, 1));
  const graph::Tensor& operand = ctx.input(0);
  const graph::Tensor& update = ctx.input(1);
  const size_t es = graph::DTypeSize(operand.dtype);
  if (es == 0)
    return ctx.Unsupported(std::string("update of a ") + graph::DTypeName(operand.dtype) +
                           " tensor");
  if (update.dtype != operand.dtype) {
    return ctx.Error(std::string("update dtype ") + graph::DTypeName(update.dtype) +
                     " differs from operand dtype " + graph::DTypeName(operand.dtype));
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, operand.dtype));
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(2, {graph::DType::kInt32, graph::DType::kInt64}));
  const size_t rank = operand.shape.size();
  if (update.shape.size() != rank) {
    return ctx.Error("update " + ShapeToString(update.shape) + " and operand " +
                     ShapeToString(operand.shape) + " have different ranks");
  }
  for (size_t d = 0; d < rank; ++d) {
    if (update.shape[d] > operand.shape[d]) {
      return ctx.Error("update " + ShapeToString(update.shape) + " is larger than operand " +
                       ShapeToString(operand.shape) + " in dim " + std::to_string(d));
    }
  }
  if (NumElements(ctx.input(2).shape) != static_cast<int64_t>(rank) ||
      ctx.input(2).shape.size() > 1) {
    return ctx.Error("start_indices " + ShapeToString(ctx.input(2).shape) + " must be 1-D with " +
                     std::to_string(rank) + " entries");
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, operand.shape));
  return PrepareResult(std::make_unique<DynamicUpdateSliceKernel>(
      operand.shape, update.shape, es, ctx.input(2).dtype == graph::DType::kInt64));
}

}  // namespace liteq::runtime
