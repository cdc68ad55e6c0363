// Weight-only models (int8/int4 weights + DEQUANTIZE, QUANT_SPEC.md) as the runtime
// runs them: a FULLY_CONNECTED whose weights are DEQUANTIZE(constant int8/int4) (or
// RESHAPE of it, the blockwise int4 layout [rows*cols/B, B]) reads the integer
// constant directly and dequantizes a few weight rows at a time into L1-sized
// scratch (kernels/fully_connected_weight_only.cc). Weights stay in the mapped file,
// 1 byte (or half a byte) each, instead of a float32 copy made at load: 4x (8x) fewer
// bytes per decode step and no folded copy in RSS. A GATHER of rows of a dequantized
// int8/int4 table (the embedding, tied with the lm head's weights) dequantizes just
// the rows it looks up (kernels/gather_quantized.cc), with DEQUANTIZE's formula.
// When every reader of the dequantized tensor is such an FC or GATHER, the
// DEQUANTIZE (and RESHAPE) is not run at all and no float copy of the table exists.
#ifndef LITEQ_RUNTIME_WEIGHT_ONLY_FUSION_H_
#define LITEQ_RUNTIME_WEIGHT_ONLY_FUSION_H_

#include <cstdint>
#include <span>
#include <vector>

#include "graph/graph.h"

namespace liteq::runtime {

struct WeightOnlyFc {
  int fc_op = -1;         // the FULLY_CONNECTED (or GATHER, see `gather`)
  int32_t weights = -1;   // the int8/int4 constant tensor
  int64_t block = 0;      // weights per scale, along the input dimension
  // A GATHER (axis 0, int32 indices) on the table `weights`, quantized per tensor
  // (block 0) or per row along dimension 0.
  bool gather = false;
};

struct WeightOnlyPlan {
  std::vector<WeightOnlyFc> fcs;
  std::vector<int> absorbed_ops;          // DEQUANTIZE / RESHAPE nobody else reads
  std::vector<int32_t> absorbed_tensors;  // their outputs
};

// `plain[t]`: tensor t is written by an op and is no signature output or state;
// `constants[t]`: bytes of constant tensor t, else nullptr.
WeightOnlyPlan FindWeightOnlyFullyConnected(const graph::Subgraph& sg,
                                            const std::vector<bool>& plain,
                                            std::span<const uint8_t* const> constants);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_WEIGHT_ONLY_FUSION_H_
