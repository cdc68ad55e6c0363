// Prepare functions of every op family, registered by op code in registry.cc.
#ifndef LITEQ_RUNTIME_KERNELS_KERNELS_H_
#define LITEQ_RUNTIME_KERNELS_KERNELS_H_

#include <memory>

#include "runtime/kernels/kernel.h"

namespace liteq::runtime {

using PrepareResult = Result<std::unique_ptr<Kernel>>;

PrepareResult PrepareArithmetic(PrepareContext& ctx);          // binary.cc
PrepareResult PrepareComparison(PrepareContext& ctx);          // compare_select.cc
PrepareResult PrepareLogicalAnd(PrepareContext& ctx);          // compare_select.cc
PrepareResult PrepareSelectV2(PrepareContext& ctx);            // compare_select.cc
PrepareResult PrepareUnary(PrepareContext& ctx);               // unary.cc
PrepareResult PrepareSoftmax(PrepareContext& ctx);             // softmax.cc
PrepareResult PrepareReduce(PrepareContext& ctx);              // reduce.cc
PrepareResult PrepareFullyConnected(PrepareContext& ctx);      // fully_connected.cc
PrepareResult PrepareBatchMatMul(PrepareContext& ctx);         // batch_matmul.cc
PrepareResult PrepareReshape(PrepareContext& ctx);             // reshape.cc
PrepareResult PrepareSqueeze(PrepareContext& ctx);             // reshape.cc
PrepareResult PrepareTranspose(PrepareContext& ctx);           // transpose.cc
PrepareResult PrepareSlice(PrepareContext& ctx);               // slice.cc
PrepareResult PrepareStridedSlice(PrepareContext& ctx);        // strided_slice.cc
PrepareResult PrepareConcatenation(PrepareContext& ctx);       // concatenation.cc
PrepareResult PrepareGather(PrepareContext& ctx);              // gather.cc
PrepareResult PrepareEmbeddingLookup(PrepareContext& ctx);     // gather.cc
PrepareResult PrepareDynamicUpdateSlice(PrepareContext& ctx);  // dynamic_update_slice.cc
PrepareResult PrepareCast(PrepareContext& ctx);                // cast.cc
PrepareResult PrepareDequantize(PrepareContext& ctx);          // dequantize.cc

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_KERNELS_H_
