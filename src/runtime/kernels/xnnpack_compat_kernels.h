// Kernels for InterpreterOptions::int8_arithmetic == Int8Arithmetic::kXnnpack: the int8
// ops that LiteRT's XNNPACK delegate takes, computed with XNNPACK's arithmetic
// (runtime/kernels/quantized/xnnpack_compat.h): QUANTIZE float -> int8 and int8 ->
// int8, ADD / SUB / MUL int8, FULLY_CONNECTED int8 (constant int8 weights, int32 bias),
// hybrid FULLY_CONNECTED (float input, constant int8 weights) and BATCH_MATMUL int8
// with an rhs zero point of 0.
#ifndef LITEQ_RUNTIME_KERNELS_XNNPACK_COMPAT_KERNELS_H_
#define LITEQ_RUNTIME_KERNELS_XNNPACK_COMPAT_KERNELS_H_

#include <memory>

#include "runtime/kernels/kernel.h"

namespace liteq::runtime {

// Called after the op's regular Prepare succeeded (so the op is valid). Returns the
// XNNPACK-arithmetic kernel, or nullptr when XNNPACK would not run this op (another
// op or dtype, or parameters the delegate refuses, which LiteRT leaves to TFLite's
// kernel): the caller keeps the regular kernel then.
Result<std::unique_ptr<Kernel>> PrepareXnnpackInt8Kernel(PrepareContext& ctx);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_XNNPACK_COMPAT_KERNELS_H_
