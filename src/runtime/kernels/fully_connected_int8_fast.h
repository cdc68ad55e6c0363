// The interpreter's fast FULLY_CONNECTED kernels for constant int8 weights: static
// int8 (int8 activations) and hybrid (float activations quantized per row). The
// arithmetic is runtime/kernels/quantized/fully_connected_fast.h (bit-exact with the
// scalar references); these kernels pack the weights (packed_int8.h; one copy shared
// by the signatures, the model file's pages handed back) and precompute the
// per-channel data at Prepare, and split the output channels across the
// interpreter's thread pool.
#ifndef LITEQ_RUNTIME_KERNELS_FULLY_CONNECTED_INT8_FAST_H_
#define LITEQ_RUNTIME_KERNELS_FULLY_CONNECTED_INT8_FAST_H_

#include <memory>
#include <span>

#include "runtime/kernels/kernel.h"
#include "runtime/kernels/quantized/fully_connected_fast.h"

namespace liteq::runtime {

// weights: the constant weights [out_channels, depth]; bias: the constant bias
// (empty when the op has none).
std::unique_ptr<Kernel> MakeFastFullyConnectedInt8(PrepareContext& ctx,
                                                   const quantized::FullyConnectedIntParams& params,
                                                   const quantized::FullyConnectedShape& shape,
                                                   std::span<const int8_t> weights,
                                                   std::span<const int32_t> bias);

// Requests its scratch (the quantized input rows) from ctx.
std::unique_ptr<Kernel> MakeFastHybridFullyConnected(PrepareContext& ctx,
                                                     quantized::HybridFullyConnectedParams params,
                                                     const quantized::FullyConnectedShape& shape,
                                                     std::span<const int8_t> weights,
                                                     bool has_bias);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_FULLY_CONNECTED_INT8_FAST_H_
