// ThreadPool (thread_pool.h): across many consecutive Runs (the decode pattern:
// hundreds of small Runs back to back), with 1, 2 and 3 threads, every task of every
// Run executes exactly once and Run returns only after all of them finished; Runs
// after the workers went to sleep (past the spin time) still complete; zero and one
// task run inline.
#include "runtime/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace liteq::runtime {
namespace {

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
