#include "runtime/memory_planner.h"

#include <gtest/gtest.h>

#include <random>

#include "runtime/aligned_buffer.h"

namespace liteq::runtime {
namespace {

bool Overlaps(const ArenaRequest& a, size_t oa, const ArenaRequest& b, size_t ob) {
  const bool live_together = !(a.last_op < b.first_op || b.last_op < a.first_op);
  const bool bytes_together = oa < ob + AlignUp(b.bytes) && ob < oa + AlignUp(a.bytes);
  return live_together && bytes_together && a.bytes > 0 && b.bytes > 0;
}

TEST(MemoryPlanner, ReusesMemoryOfDeadTensors) {
  // Three 1000-byte tensors in a chain: the first and third can share.
  const std::vector<ArenaRequest> chain = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}};
  ArenaPlan plan = PlanArena(chain);
  EXPECT_EQ(plan.arena_bytes, 2 * AlignUp(1000));
  EXPECT_EQ(plan.offsets[0], plan.offsets[2]);
  EXPECT_EQ(plan.offsets[0] % kTensorAlignment, 0u);
}

TEST(MemoryPlanner, RandomPlansNeverOverlapLiveTensors) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<ArenaRequest> requests;
    size_t total = 0;
    for (int i = 0; i < 40; ++i) {
      const int first = static_cast<int>(rng() % 30);
      const int last = first + static_cast<int>(rng() % 6);
      requests.push_back({rng() % 5000, first, last});
      total += AlignUp(requests.back().bytes);
    }
    ArenaPlan plan = PlanArena(requests);
    EXPECT_LE(plan.arena_bytes, total);
    for (size_t a = 0; a < requests.size(); ++a) {
      EXPECT_LE(plan.offsets[a] + AlignUp(requests[a].bytes), plan.arena_bytes);
      for (size_t b = a + 1; b < requests.size(); ++b) {
        ASSERT_FALSE(Overlaps(requests[a], plan.offsets[a], requests[b], plan.offsets[b]))
            << "trial " << trial << " tensors " << a << " and " << b;
      }
    }
  }
}

}  // namespace
}  // namespace liteq::runtime
