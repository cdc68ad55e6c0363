#include "runtime/kernels/fully_connected_shape.h"

#include "runtime/kernels/shape_util.h"

namespace liteq::runtime {

Result<quantized::FullyConnectedShape> PrepareFullyConnectedShape(PrepareContext& ctx,
                                                                  bool keep_num_dims) {
  const Shape& in = ctx.input(0).shape;
  const Shape& w = ctx.input(1).shape;
  if (w.size() != 2) {
    return ctx.Error("weights '" + ctx.input(1).name + "' must be [out, in], got " +
                     ShapeToString(w));
  }
  const int64_t out_ch = w[0], in_ch = w[1];
  if (in.empty() || in.back() != in_ch) {
    return ctx.Error("input '" + ctx.input(0).name + "' " + ShapeToString(in) +
                     " does not end in the weights' input size " + std::to_string(in_ch));
  }
  const int64_t batch = in_ch == 0 ? 0 : NumElements(in) / in_ch;
  if (ctx.has_input(2) && ctx.input(2).shape != Shape{static_cast<int32_t>(out_ch)}) {
    return ctx.Error("bias '" + ctx.input(2).name + "' is " + ShapeToString(ctx.input(2).shape) +
                     ", expected [" + std::to_string(out_ch) + "]");
  }
  Shape out;
  if (keep_num_dims) {
    out = in;
    out.back() = static_cast<int32_t>(out_ch);
  } else {
    out = {static_cast<int32_t>(batch), static_cast<int32_t>(out_ch)};
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  return quantized::FullyConnectedShape{batch, in_ch, out_ch};
}

}  // namespace liteq::runtime
