// ThreadPool (thread_pool.h): across many consecutive Runs (the decode pattern:
// hundreds of small Runs back to back), with 1, 2 and 3 threads, every task of every
// Run executes exactly once and Run returns only after all of them finished; Runs
// after the workers went to sleep (past the spin time) still complete; zero and one
// task run inline. BalancedTaskCount (elementwise_parallel.h) against a brute-force
// search of the busiest thread's share.
#include "runtime/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "runtime/kernels/elementwise_parallel.h"

namespace liteq::runtime {
namespace {

// The units the busiest of `threads` threads runs when `tasks` tasks of units split
// as the FC kernels split them (task t: [t * units / tasks, (t + 1) * units / tasks))
// are dealt round-robin.
size_t BusiestThreadUnits(size_t units, size_t threads, size_t tasks) {
  std::vector<size_t> load(threads, 0);
  for (size_t t = 0; t < tasks; ++t) {
    load[t % threads] += (t + 1) * units / tasks - t * units / tasks;
  }
  return *std::max_element(load.begin(), load.end());
}

TEST(BalancedTaskCountTest, SmolLmChannelTiles) {
  // 576 channels in tiles of 32 on 2 threads: 6 tasks of 3 tiles, not 8 of 2-3.
  EXPECT_EQ(BalancedTaskCount(18, 2, 8), 6u);
  EXPECT_EQ(BusiestThreadUnits(18, 2, 6), 9u);
  EXPECT_EQ(BusiestThreadUnits(18, 2, 8), 10u);
  EXPECT_EQ(BalancedTaskCount(48, 2, 8), 8u);  // 1536 channels: 6 tiles each
  EXPECT_EQ(BalancedTaskCount(18, 1, 8), 1u);
  EXPECT_EQ(BalancedTaskCount(1, 2, 8), 1u);
  EXPECT_EQ(BalancedTaskCount(18, 2, 1), 1u);
}

TEST(BalancedTaskCountTest, NoCountGivesTheBusiestThreadLess) {
  for (size_t threads = 2; threads <= 4; ++threads) {
    for (size_t units = 1; units <= 80; ++units) {
      for (size_t max_tasks = 1; max_tasks <= 4 * threads; ++max_tasks) {
        const size_t tasks = BalancedTaskCount(units, threads, max_tasks);
        ASSERT_GE(tasks, 1u);
        ASSERT_LE(tasks, std::max<size_t>(1, std::min(max_tasks, units)));
        ASSERT_TRUE(tasks == 1 || tasks % threads == 0) << tasks;
        // Task counts are multiples of the threads (or 1): the round-robin model.
        const size_t got = BusiestThreadUnits(units, threads, tasks);
        for (size_t other = threads; other <= std::min(max_tasks, units); other += threads) {
          EXPECT_LE(got, BusiestThreadUnits(units, threads, other))
              << "units " << units << " threads " << threads << " max " << max_tasks << ": "
              << tasks << " tasks vs " << other;
        }
      }
    }
  }
}

TEST(ThreadPoolTest, EveryTaskOfEveryRunExactlyOnce) {
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    ThreadPool pool(threads);
    EXPECT_EQ(pool.num_threads(), threads);
    constexpr int kMaxTasks = 37;
    std::vector<std::atomic<int>> counts(kMaxTasks);
    for (int run = 0; run < 3000; ++run) {
      const int tasks = run % kMaxTasks;
      for (auto& c : counts) c.store(0);
      auto task = [&](int t) {
        ASSERT_GE(t, 0);
        ASSERT_LT(t, tasks);
        counts[t].fetch_add(1);
      };
      pool.ParallelFor(tasks, task);
      // Run has returned: every count is final.
      for (int t = 0; t < kMaxTasks; ++t) {
        ASSERT_EQ(counts[t].load(), t < tasks ? 1 : 0) << "run " << run << " task " << t;
      }
    }
  }
}

TEST(ThreadPoolTest, WorkersHelpAndSleepingWorkersWakeUp) {
  ThreadPool pool(2);
  for (int round = 0; round < 3; ++round) {
    // Past the spin time the worker sleeps on the condition variable.
    std::this_thread::sleep_for(std::chrono::microseconds(3 * ThreadPool::kSpinMicros));
    // Two tasks that each wait for the other: they can only finish if two threads
    // run them at the same time, i.e. the sleeping worker woke up and took one.
    std::atomic<int> arrived{0};
    auto task = [&](int) {
      arrived.fetch_add(1);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (arrived.load() < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
    };
    pool.ParallelFor(2, task);
    EXPECT_EQ(arrived.load(), 2);
  }
}

TEST(ThreadPoolTest, SlowTasksAreAwaited) {
  ThreadPool pool(3);
  for (int run = 0; run < 20; ++run) {
    std::atomic<int> finished{0};
    auto task = [&](int t) {
      if (t % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      finished.fetch_add(1);
    };
    pool.ParallelFor(7, task);
    ASSERT_EQ(finished.load(), 7);
  }
}

}  // namespace
}  // namespace liteq::runtime
