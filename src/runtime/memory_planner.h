// Assigns arena offsets to tensors by lifetime: two tensors share bytes only if their
// live op ranges do not overlap. The algorithm is "greedy by size" (as TFLite's
// ArenaPlanner and the MLSys'20 "Efficient memory management for deep neural net
// inference" paper describe it): place the largest tensors first, each at the lowest
// offset that fits between the already placed tensors whose lifetimes overlap.
#ifndef LITEQ_RUNTIME_MEMORY_PLANNER_H_
#define LITEQ_RUNTIME_MEMORY_PLANNER_H_

#include <cstddef>
#include <vector>

namespace liteq::runtime {

struct ArenaRequest {
  size_t bytes = 0;
  int first_op = 0;  // live from the op that writes it...
  int last_op = 0;   // ...through the last op that reads it (inclusive)
};

struct ArenaPlan {
  std::vector<size_t> offsets;  // one per request, aligned to kTensorAlignment
  size_t arena_bytes = 0;
};

ArenaPlan PlanArena(const std::vector<ArenaRequest>& requests);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_MEMORY_PLANNER_H_
