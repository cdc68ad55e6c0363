// Rotary position embedding tables, computed on the host exactly as transformers
// computes them (modeling_rope_utils.py: float32 inverse frequencies, float32
// position x frequency products, then cos/sin), so the graph only gathers rows.
#ifndef LITEQ_MODEL_ROPE_H_
#define LITEQ_MODEL_ROPE_H_

#include <vector>

#include "model/config.h"

namespace liteq::model {

// rotary_dim / 2 inverse frequencies of `rope` (default, linear or llama3 scaling).
std::vector<float> RopeInverseFrequencies(const RopeConfig& rope, int rotary_dim);

// cos and sin of position p x inv_freq[i], row-major [max_seq, rotary_dim / 2].
struct RopeTables {
  std::vector<float> cos;
  std::vector<float> sin;
};
RopeTables ComputeRopeTables(const RopeConfig& rope, int rotary_dim, int max_seq);

}  // namespace liteq::model

#endif  // LITEQ_MODEL_ROPE_H_
