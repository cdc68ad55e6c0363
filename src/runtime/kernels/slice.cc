// SLICE (begin/size tensors; size -1 = to the end) and STRIDED_SLICE (begin/end/strides
// with begin/end/ellipsis/new_axis/shrink_axis masks, negative strides and `offset`),
// following TensorFlow's strided-slice semantics that TFLite implements.
#include <algorithm>

#include "runtime/kernels/copy_kernels.h"
#include "runtime/kernels/kernels.h"

namespace liteq::runtime {
namespace {

// SLICE whose begin is computed by the graph (e.g. from input_pos): the size is
// static, the start is read and bounds-checked at Eval.
class DynamicSliceKernel : public Kernel {
 public:
  DynamicSliceKernel(StridedCopyPlan plan, Shape in, std::vector<int64_t> sizes,
                     bool begin_is_int64)
      : plan_(std::move(plan)),
        in_(std::move(in)),
        strides_(Strides(in_)),
        sizes_(std::move(sizes)),
        begin_is_int64_(begin_is_int64) {}
  Status Eval(const EvalContext& ctx) override {
    int64_t base = 0;
    for (size_t d = 0; d < in_.size(); ++d) {
      const int64_t b = begin_is_int64_ ? In<int64_t>(ctx, 1)[d] : In<int32_t>(ctx, 1)[d];
      if (b < 0 || b > in_[d] - sizes_[d]) {
        return EvalError(StatusCode::kOutOfRange,
                         "begin " + std::to_string(b) + " of dim " + std::to_string(d) + " (size " +
                             std::to_string(sizes_[d]) + ") is outside [0, " +
                             std::to_string(in_[d] - sizes_[d]) + "]");
      }
      base += b * strides_[d];
    }
    plan_.base = base;
    StridedCopy(plan_, In<void>(ctx, 0), Out<void>(ctx, 0));
    return Status::Ok();
  }

 private:
  StridedCopyPlan plan_;
  Shape in_;
  std::vector<int64_t> strides_;
  std::vector<int64_t> sizes_;
  bool begin_is_int64_;
};

}  // namespace

PrepareResult PrepareSlice(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(3, 3, 1));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, ctx.input(0).dtype));
  LITEQ_ASSIGN_OR_RETURN(size_t element_size, ElementSizeForCopy(ctx));
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(1, {graph::DType::kInt32, graph::DType::kInt64}));
  const Shape& in = ctx.input(0).shape;
  const size_t rank = in.size();
  if (NumElements(ctx.input(1).shape) != static_cast<int64_t>(rank) ||
      NumElements(ctx.input(2).shape) != static_cast<int64_t>(rank)) {
    return ctx.Error("begin and size must have one entry per input dim (" + std::to_string(rank) +
                     ")");
  }
  LITEQ_ASSIGN_OR_RETURN(std::vector<int64_t> size, ctx.ConstantInts(2, "size"));
  const bool static_begin = ctx.constant(1) != nullptr;
  std::vector<int64_t> begin(rank, 0);
  if (static_begin) {
    LITEQ_ASSIGN_OR_RETURN(begin, ctx.ConstantInts(1, "begin"));
  }
  Shape out;
  const std::vector<int64_t> strides = Strides(in);
  int64_t base = 0;
  for (size_t d = 0; d < rank; ++d) {
    if (size[d] == -1) {
      if (!static_begin)
        return ctx.Unsupported("size -1 with a computed begin (output shape not static)");
      size[d] = in[d] - begin[d];
    }
    if (size[d] < 0 || size[d] > in[d] || begin[d] < 0 || begin[d] > in[d] - size[d]) {
      return ctx.Error("begin " + std::to_string(begin[d]) + " size " + std::to_string(size[d]) +
                       " is out of range for dim " + std::to_string(d) + " of " +
                       ShapeToString(in));
    }
    out.push_back(static_cast<int32_t>(size[d]));
    base += begin[d] * strides[d];
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  StridedCopyPlan plan = MakeStridedCopyPlan(element_size, base, size, strides);
  if (static_begin) return PrepareResult(std::make_unique<StridedCopyKernel>(std::move(plan)));
  return PrepareResult(std::make_unique<DynamicSliceKernel>(
      std::move(plan), in, size, ctx.input(1).dtype == graph::DType::kInt64));
}

PrepareResult PrepareStridedSlice(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(4, 4, 1));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, ctx.input(0).dtype));
  LITEQ_ASSIGN_OR_RETURN(size_t element_size, ElementSizeForCopy(ctx));
  graph::StridedSliceOptions o;
  if (const auto* p = std::get_if<graph::StridedSliceOptions>(&ctx.op().options)) o = *p;
  LITEQ_ASSIGN_OR_RETURN(std::vector<int64_t> begin, ctx.ConstantInts(1, "begin"));
  LITEQ_ASSIGN_OR_RETURN(std::vector<int64_t> end, ctx.ConstantInts(2, "end"));
  LITEQ_ASSIGN_OR_RETURN(std::vector<int64_t> stride, ctx.ConstantInts(3, "strides"));
  const size_t specs = begin.size();
  if (end.size() != specs || stride.size() != specs) {
    return ctx.Error("begin, end and strides have different lengths");
  }
  if (specs > 32) return ctx.Error("more than 32 slice specs");
  const Shape& in = ctx.input(0).shape;
  const int rank = static_cast<int>(in.size());
  auto bit = [](int32_t mask, size_t i) { return ((mask >> i) & 1) != 0; };
  int ellipsis = -1;
  int new_axes = 0;
  for (size_t i = 0; i < specs; ++i) {
    if (bit(o.ellipsis_mask, i)) {
      if (ellipsis >= 0) return ctx.Error("more than one ellipsis in ellipsis_mask");
      ellipsis = static_cast<int>(i);
    } else if (bit(o.new_axis_mask, i)) {
      ++new_axes;
    }
  }
  // Specs that consume an input dim (not the ellipsis, not new axes).
  const int consuming = static_cast<int>(specs) - new_axes - (ellipsis >= 0 ? 1 : 0);
  if (consuming > rank) {
    return ctx.Error(std::to_string(consuming) + " slice specs for an input of rank " +
                     std::to_string(rank));
  }
  const std::vector<int64_t> in_strides = Strides(in);
  Shape out;
  std::vector<int64_t> dims, src_strides;
  int64_t base = 0;
  int dim = 0;                  // next input dim
  auto full_dim = [&](int d) {  // a dim not named by any spec: taken whole
    out.push_back(in[d]);
    dims.push_back(in[d]);
    src_strides.push_back(in_strides[d]);
  };
  for (size_t i = 0; i < specs; ++i) {
    if (static_cast<int>(i) == ellipsis) {
      const int covered = rank - consuming;
      for (int e = 0; e < covered; ++e) full_dim(dim++);
      continue;
    }
    if (bit(o.new_axis_mask, i)) {
      out.push_back(1);  // a size-1 dim with no input dim behind it
      continue;
    }
    const int64_t n = in[dim];
    int64_t s = stride[i];
    if (s == 0) return ctx.Error("stride " + std::to_string(i) + " is zero");
    int64_t b = begin[i], e = end[i];
    if (o.offset && !bit(o.end_mask, i)) e += b;  // `offset`: end is relative to begin
    int64_t count;
    if (bit(o.shrink_axis_mask, i)) {
      b = b < 0 ? b + n : b;
      if (b < 0 || b >= n) {
        return ctx.Error("shrink index " + std::to_string(begin[i]) + " is out of range for dim " +
                         std::to_string(dim) + " of size " + std::to_string(n));
      }
      s = 1;
      count = 1;
    } else if (s > 0) {
      b = bit(o.begin_mask, i) ? 0 : std::clamp(b < 0 ? b + n : b, int64_t{0}, n);
      e = bit(o.end_mask, i) ? n : std::clamp(e < 0 ? e + n : e, int64_t{0}, n);
      count = e > b ? (e - b + s - 1) / s : 0;
    } else {
      b = bit(o.begin_mask, i) ? n - 1 : std::clamp(b < 0 ? b + n : b, int64_t{-1}, n - 1);
      e = bit(o.end_mask, i) ? -1 : std::clamp(e < 0 ? e + n : e, int64_t{-1}, n - 1);
      count = b > e ? (b - e + (-s) - 1) / (-s) : 0;
    }
    if (count > 0) base += b * in_strides[dim];
    if (!bit(o.shrink_axis_mask, i)) out.push_back(static_cast<int32_t>(count));
    dims.push_back(count);
    src_strides.push_back(s * in_strides[dim]);
    ++dim;
  }
  while (dim < rank) full_dim(dim++);
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  return PrepareResult(std::make_unique<StridedCopyKernel>(
      MakeStridedCopyPlan(element_size, base, dims, src_strides)));
}

}  // namespace liteq::runtime
