// Prepare functions of every op family, registered by op code in registry.cc.
#ifndef LITEQ_RUNTIME_KERNELS_KERNELS_H_
#define LITEQ_RUNTIME_KERNELS_KERNELS_H_

#include <cstdint>
#include <memory>
#include <vector>

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
// DEQUANTIZE's per-tensor int8 arithmetic, out[i] = float(scale * double(in[i] - zp)),
// with the fastest code for this CPU (the same bits on every path).
void FastDequantizeInt8(const int8_t* in, int64_t n, double scale, int64_t zp, float* out);
PrepareResult PrepareQuantize(PrepareContext& ctx);  // quantize.cc

// Integer and hybrid variants, chosen by the float Prepare functions from the dtypes.
// fully_connected_quantized.cc: int8/int16 input with int8 weights; float input with
// int8 weights (hybrid).
PrepareResult PrepareFullyConnectedInteger(PrepareContext& ctx,
                                           const graph::FullyConnectedOptions& opts);
PrepareResult PrepareFullyConnectedHybrid(PrepareContext& ctx,
                                          const graph::FullyConnectedOptions& opts);
PrepareResult PrepareBatchMatMulInteger(PrepareContext& ctx);  // batch_matmul_quantized.cc
PrepareResult PrepareArithmeticInteger(PrepareContext& ctx);   // binary_quantized.cc
PrepareResult PrepareSoftmaxInteger(PrepareContext& ctx);      // softmax_quantized.cc
PrepareResult PrepareUnaryInteger(PrepareContext& ctx);        // unary_quantized.cc
// mean_quantized.cc: `reduced` flags the input dimensions, output_shape is inferred.
PrepareResult PrepareMeanInteger(PrepareContext& ctx, const std::vector<bool>& reduced,
                                 const std::vector<int32_t>& output_shape);
PrepareResult PrepareEmbeddingLookupHybrid(PrepareContext& ctx);  // gather_quantized.cc

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_KERNELS_H_
