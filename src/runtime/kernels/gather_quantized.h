// GATHER of rows of a dequantized int8/int4 table, run on the integer table
// (runtime/weight_only_fusion.h): only the looked-up rows are dequantized, with
// DEQUANTIZE's formula, so the output equals GATHER on the folded float table.
#ifndef LITEQ_RUNTIME_KERNELS_GATHER_QUANTIZED_H_
#define LITEQ_RUNTIME_KERNELS_GATHER_QUANTIZED_H_

#include <memory>

#include "runtime/kernels/kernel.h"

namespace liteq::runtime {

// `ctx` is the GATHER (inputs: the float table DEQUANTIZE writes, int32 indices;
// axis 0, batch_dims 0); `table` the integer constant, quantized per tensor or per row
// with zero point 0. The kernel must be bound to the op with inputs {indices, table}
// (EMBEDDING_LOOKUP's order).
Result<std::unique_ptr<Kernel>> PrepareWeightOnlyGather(PrepareContext& ctx,
                                                        const graph::Tensor& table);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_GATHER_QUANTIZED_H_
