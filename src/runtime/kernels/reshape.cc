// RESHAPE and SQUEEZE: the bytes do not change. The memory planner usually lets the
// output share the input's storage (then Eval does nothing); otherwise Eval copies.
#include <cstring>

#include "runtime/kernels/kernels.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {
namespace {

class CopyKernel : public Kernel {
 public:
  explicit CopyKernel(size_t bytes) : bytes_(bytes) {}
  Status Eval(const EvalContext& ctx) override {
    const void* in = In<void>(ctx, 0);
    void* out = Out<void>(ctx, 0);
    if (in != out && bytes_ > 0) std::memcpy(out, in, bytes_);
    return Status::Ok();
  }

 private:
  size_t bytes_;
};

PrepareResult MakeCopy(const PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, ctx.input(0).dtype));
  const graph::Tensor& in = ctx.input(0);
  return PrepareResult(
      std::make_unique<CopyKernel>(graph::TensorBytes(in.dtype, NumElements(in.shape))));
}

}  // namespace

PrepareResult PrepareReshape(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(1, 2, 1));
  const Shape& in = ctx.input(0).shape;
  const int64_t count = NumElements(in);
  // The new shape: the constant shape input, else the options, else (a computed
  // shape input, or neither) the declared output shape, which must hold as many
  // elements as the input.
  std::vector<int64_t> requested;
  bool have_request = false;
  if (ctx.has_input(1) && ctx.constant(1) != nullptr) {
    LITEQ_ASSIGN_OR_RETURN(requested, ctx.ConstantInts(1, "shape"));
    have_request = true;
  } else if (!ctx.has_input(1)) {
    if (const auto* o = std::get_if<graph::ReshapeOptions>(&ctx.op().options)) {
      if (!o->new_shape.empty()) {
        requested.assign(o->new_shape.begin(), o->new_shape.end());
        have_request = true;
      }
    }
  }
  if (!have_request) {
    const Shape& declared = ctx.output(0).shape;
    requested.assign(declared.begin(), declared.end());
  }
  Shape out;
  int infer = -1;
  int64_t known = 1;
  for (size_t d = 0; d < requested.size(); ++d) {
    const int64_t v = requested[d];
    if (v == -1) {
      if (infer >= 0) return ctx.Error("new shape has more than one -1");
      infer = static_cast<int>(d);
      out.push_back(0);
      continue;
    }
    if (v < 0 || v > INT32_MAX)
      return ctx.Error("new shape has invalid dimension " + std::to_string(v));
    known *= v;
    out.push_back(static_cast<int32_t>(v));
  }
  if (infer >= 0) {
    if (known == 0 || count % known != 0) {
      return ctx.Error("cannot infer the -1 dimension of " + ShapeToString(out) + " from " +
                       std::to_string(count) + " elements");
    }
    out[infer] = static_cast<int32_t>(count / known);
  } else if (known != count) {
    return ctx.Error("cannot reshape " + ShapeToString(in) + " (" + std::to_string(count) +
                     " elements) to " + ShapeToString(out));
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  return MakeCopy(ctx);
}

PrepareResult PrepareSqueeze(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(1, 1, 1));
  const Shape& in = ctx.input(0).shape;
  const int rank = static_cast<int>(in.size());
  std::vector<bool> drop(rank, false);
  std::vector<int32_t> dims;
  if (const auto* o = std::get_if<graph::SqueezeOptions>(&ctx.op().options)) dims = o->squeeze_dims;
  if (dims.empty()) {
    for (int d = 0; d < rank; ++d) drop[d] = in[d] == 1;
  }
  for (int32_t v : dims) {
    const int d = NormalizeAxis(v, rank);
    if (d < 0)
      return ctx.Error("squeeze dim " + std::to_string(v) + " is out of range for " +
                       ShapeToString(in));
    if (in[d] != 1) {
      return ctx.Error("cannot squeeze dim " + std::to_string(v) + " of size " +
                       std::to_string(in[d]));
    }
    drop[d] = true;
  }
  Shape out;
  for (int d = 0; d < rank; ++d) {
    if (!drop[d]) out.push_back(in[d]);
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  return MakeCopy(ctx);
}

}  // namespace liteq::runtime
