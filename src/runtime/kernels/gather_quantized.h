// GATHER of rows of a dequantized int8/int4 table, run on the integer table
// (runtime/weight_only_fusion.h): only the looked-up rows are dequantized, with
// DEQUANTIZE's formula, so the output equals GATHER on the folded float table.
#ifndef LITEQ_RUNTIME_KERNELS_GATHER_QUANTIZED_H_
#define LITEQ_RUNTIME_KERNELS_GATHER_QUANTIZED_H_

#include <memory>

#include "runtime/kernels/kernel.h"
#include "runtime/kernels/quantized/packed_int8.h"

namespace liteq::runtime {

// `ctx` is the GATHER (inputs: the float table DEQUANTIZE writes, int32 indices;
// axis 0, batch_dims 0); `table` the integer constant, quantized per tensor or per row
// with zero point 0. The kernel must be bound to the op with inputs {indices, table}
// (EMBEDDING_LOOKUP's order).
Result<std::unique_ptr<Kernel>> PrepareWeightOnlyGather(PrepareContext& ctx,
                                                        const graph::Tensor& table);

// The packed copy of input `table_input`, an int8 [rows, row_size] constant, when a
// FULLY_CONNECTED of the same subgraph reads the same buffer as int8 weights (a tied
// embedding and output head) and so packs it anyway (fully_connected_int8_fast.cc;
// both get the one shared copy, which hands the file's pages back); else null.
// Lookups then read rows from it: reading them from the file would fault the pages
// in again, with the kernel's fault-around mapping ~64 KB per looked-up row
// (measured: 8 MB of SmolLM2's 27 MB table after a 128-token prompt).
std::shared_ptr<const quantized::PackedInt8Weights> TiedPackedTable(const PrepareContext& ctx,
                                                                    size_t table_input);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_GATHER_QUANTIZED_H_
