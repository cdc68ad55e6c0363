#include "runtime/memory_planner.h"

#include <algorithm>
#include <numeric>

#include "runtime/aligned_buffer.h"

namespace liteq::runtime {

ArenaPlan PlanArena(const std::vector<ArenaRequest>& requests) {
  ArenaPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  // Largest first; ties by earlier start so the plan is deterministic.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
    return requests[a].first_op < requests[b].first_op;
  });
  struct Placed {
    size_t offset, end;
  };
  std::vector<size_t> placed;  // indices into requests, already assigned
  std::vector<Placed> overlapping;
  for (size_t index : order) {
    const ArenaRequest& r = requests[index];
    const size_t bytes = AlignUp(r.bytes);
    overlapping.clear();
    for (size_t other : placed) {
      const ArenaRequest& o = requests[other];
      if (o.last_op < r.first_op || r.last_op < o.first_op) continue;  // lifetimes disjoint
      overlapping.push_back({plan.offsets[other], plan.offsets[other] + AlignUp(o.bytes)});
    }
    std::sort(overlapping.begin(), overlapping.end(),
              [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    // Lowest gap that fits; the candidate moves past every live block it collides with.
    size_t candidate = 0;
    for (const Placed& p : overlapping) {
      if (p.offset >= candidate + bytes) break;
      candidate = std::max(candidate, p.end);
    }
    plan.offsets[index] = candidate;
    plan.arena_bytes = std::max(plan.arena_bytes, candidate + bytes);
    placed.push_back(index);
  }
  return plan;
}

}  // namespace liteq::runtime
