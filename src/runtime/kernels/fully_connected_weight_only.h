// FULLY_CONNECTED with float activations and int8/int4 symmetric weights read straight
// from the constant (runtime/weight_only_fusion.h), w = float(q) * scale[block].
// Few activation rows (decode): a GEMV converting each weight in registers
// (kernels/weight_only_dot.h), equal to DEQUANTIZE then the float kernel up to
// kWeightOnlyDotRelativeTolerance. More rows (prefill): a chunk of weight rows is
// dequantized to float (the exact DEQUANTIZE values) and the float GEMM runs on it,
// so those results are identical to the folded path.
// int4 weights with few activation rows and int4_int8_activations: the activations are
// quantized to int8 per group of 32 and the products summed in integers
// (kernels/weight_only_int4_q8.h; its scalar reference with use_reference_kernels,
// bit-identical results).
#ifndef LITEQ_RUNTIME_KERNELS_FULLY_CONNECTED_WEIGHT_ONLY_H_
#define LITEQ_RUNTIME_KERNELS_FULLY_CONNECTED_WEIGHT_ONLY_H_

#include <memory>

#include "runtime/kernels/kernel.h"

namespace liteq::runtime {

// `ctx` is the FULLY_CONNECTED op (inputs x, float weights, optional bias); `q` the
// integer constant its weights dequantize from, `block` weights per scale along the
// input dimension. The kernel must be bound to the op with input 1 replaced by q.
//
// With `product`, the kernel also runs the float MUL that is the FC output's only
// reader (the gated MLP's act(gate) * up, PlanBuilder::PlanFcProductFusion; the FC has no
// fused activation): it is bound to inputs {x, q, bias or -1, m} and the MUL's output,
// and writes out = FC(x) * m, the same floats as the two ops. Each element of m is
// read before the element of out with its index is written, so out may overwrite m.
Result<std::unique_ptr<Kernel>> PrepareWeightOnlyFullyConnected(PrepareContext& ctx,
                                                                const graph::Tensor& q,
                                                                int64_t block,
                                                                bool int4_int8_activations,
                                                                bool product = false);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_FULLY_CONNECTED_WEIGHT_ONLY_H_
