// Which op writes and which ops read each tensor of a subgraph: what the fusion
// pattern finders (inverse_rms_fusion.h, rope_fusion.h, silu_fusion.h) walk.
#ifndef LITEQ_RUNTIME_TENSOR_USES_H_
#define LITEQ_RUNTIME_TENSOR_USES_H_

#include <algorithm>
#include <cstdint>
#include <variant>
#include <vector>

#include "graph/graph.h"

namespace liteq::runtime {

struct TensorUses {
  std::vector<int> producer;  // the op writing the tensor, or -1
  std::vector<int> reader;    // the last op reading it, or -1
  std::vector<int> readers;   // how many ops read it (an op reading it twice counts once)

  // The op writing t when t is a plain intermediate (`plain[t]`: written by an op, no
  // signature output or state) read by exactly one op, else -1.
  int InnerProducer(int32_t t, const std::vector<bool>& plain) const {
    return t >= 0 && static_cast<size_t>(t) < producer.size() && plain[t] && readers[t] == 1
               ? producer[t]
               : -1;
  }
};

// The op has no fused activation (BinaryOptions' is none, or it has no such options).
inline bool NoFusedActivation(const graph::Op& op) {
  const auto* o = std::get_if<graph::BinaryOptions>(&op.options);
  return o == nullptr || o->activation == graph::Activation::kNone;
}

inline TensorUses FindTensorUses(const graph::Subgraph& sg) {
  const size_t n = sg.tensors.size();
  TensorUses uses{std::vector<int>(n, -1), std::vector<int>(n, -1), std::vector<int>(n, 0)};
  for (size_t i = 0; i < sg.ops.size(); ++i) {
    const std::vector<int32_t>& inputs = sg.ops[i].inputs;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const int32_t t = inputs[k];
      if (t < 0 || static_cast<size_t>(t) >= n ||
          std::find(inputs.begin(), inputs.begin() + static_cast<ptrdiff_t>(k), t) !=
              inputs.begin() + static_cast<ptrdiff_t>(k)) {
        continue;
      }
      ++uses.readers[t];
      uses.reader[t] = static_cast<int>(i);
    }
    for (int32_t t : sg.ops[i].outputs) {
      if (t >= 0 && static_cast<size_t>(t) < n) uses.producer[t] = static_cast<int>(i);
    }
  }
  return uses;
}

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_TENSOR_USES_H_
