// Removing what a rewrite left unreachable: tensors no op, signature or subgraph
// input/output refers to, and buffers no tensor refers to. A quantizer replaces float
// weights by new int8 tensors; without this the writer would still store the float
// copies.
#ifndef LITEQ_GRAPH_PRUNE_H_
#define LITEQ_GRAPH_PRUNE_H_

#include <cstddef>

#include "graph/graph.h"

namespace liteq::graph {

struct PruneReport {
  size_t tensors_removed = 0;
  size_t buffers_removed = 0;
};

// Renumbers tensors and buffers (keeping their order) in every subgraph and signature.
// Buffer 0 (the empty sentinel) is always kept.
PruneReport PruneUnused(Model& model);

}  // namespace liteq::graph

#endif  // LITEQ_GRAPH_PRUNE_H_
