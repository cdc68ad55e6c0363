// Shape rules shared by every FULLY_CONNECTED kernel (float, integer, hybrid, weights
// read as int8/int4): weights [out, in], the input flattened to [-1, in], an optional
// bias [out], and the output [batch, out] or, with keep_num_dims, the input's leading
// dims + [out] (TFLite fully_connected.cc).
#ifndef LITEQ_RUNTIME_KERNELS_FULLY_CONNECTED_SHAPE_H_
#define LITEQ_RUNTIME_KERNELS_FULLY_CONNECTED_SHAPE_H_

#include "runtime/kernels/kernel.h"
#include "runtime/kernels/quantized/fully_connected_int.h"

namespace liteq::runtime {

// Checks the op's shapes (input 0, weights 1, bias 2 if present, output 0) and returns
// {batches, depth, out_channels}. Dtypes are the caller's to check.
Result<quantized::FullyConnectedShape> PrepareFullyConnectedShape(PrepareContext& ctx,
                                                                  bool keep_num_dims);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_FULLY_CONNECTED_SHAPE_H_
