#include "runtime/thread_pool.h"

#include <chrono>

#include "liteq/status.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace liteq::runtime {
namespace {

uint64_t Generation(uint64_t state) { return state >> 32; }
uint64_t NextTask(uint64_t state) { return (state >> 16) & 0xffff; }
uint64_t TaskCount(uint64_t state) { return state & 0xffff; }

// Tells the core this is a spin-wait (saves power, frees the sibling hyperthread).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  { std::lock_guard<std::mutex> lock(mu_); }  // a worker checking its predicate sees stop_
  wake_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::DrainTasks() {
  uint64_t s = state_.load(std::memory_order_acquire);
  while (NextTask(s) < TaskCount(s)) {
    if (state_.compare_exchange_weak(s, s + (uint64_t{1} << 16), std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      // Claimed: fn_/context_ belong to this generation until its tasks are all done.
      fn_(context_, static_cast<int>(NextTask(s)));
      done_tasks_.fetch_add(1, std::memory_order_release);
      s = state_.load(std::memory_order_acquire);
    }
  }
}

void ThreadPool::Run(int num_tasks, TaskFn fn, void* context) {
  if (workers_.empty() || num_tasks <= 1) {
    for (int task = 0; task < num_tasks; ++task) fn(context, task);
    return;
  }
  LITEQ_CHECK(num_tasks <= kMaxTasks);
  // No task of the previous Run is outstanding, so no thread reads these now.
  fn_ = fn;
  context_ = context;
  done_tasks_.store(0, std::memory_order_relaxed);
  const uint64_t generation = (Generation(state_.load(std::memory_order_relaxed)) + 1) & 0xffffffff;
  state_.store(generation << 32 | static_cast<uint64_t>(num_tasks));  // seq_cst: see WaitForWork
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mu_); }
    wake_cv_.notify_all();
  }
  DrainTasks();
  // Tasks claimed by workers are running now; wait for them (short by construction).
  for (int spins = 0; done_tasks_.load(std::memory_order_acquire) < num_tasks; ++spins) {
    if (spins < (1 << 10)) {
      CpuRelax();
    } else {
      std::this_thread::yield();  // a worker was descheduled mid-task
    }
  }
}

uint64_t ThreadPool::WaitForWork(uint64_t seen) {
  const auto start = std::chrono::steady_clock::now();
  for (int spins = 0;; ++spins) {
    if (stop_.load(std::memory_order_relaxed)) return seen;
    const uint64_t generation = Generation(state_.load(std::memory_order_acquire));
    if (generation != seen) return generation;
    if ((spins & 255) == 255) {
      if (std::chrono::steady_clock::now() - start > std::chrono::microseconds(kSpinMicros)) break;
      std::this_thread::yield();  // let a runnable thread (the caller) have the core
    }
    CpuRelax();
  }
  // Sleep. sleepers_ is raised (seq_cst) before the predicate reads state_ (seq_cst),
  // and Run stores state_ before reading sleepers_: either Run sees the sleeper and
  // notifies under mu_, or this predicate sees the new generation.
  std::unique_lock<std::mutex> lock(mu_);
  sleepers_.fetch_add(1);
  wake_cv_.wait(lock, [&] { return stop_.load() || Generation(state_.load()) != seen; });
  sleepers_.fetch_sub(1);
  return Generation(state_.load(std::memory_order_acquire));
}

void ThreadPool::WorkerLoop() {
  uint64_t seen = 0;
  for (;;) {
    seen = WaitForWork(seen);
    if (stop_.load()) return;
    DrainTasks();
  }
}

}  // namespace liteq::runtime
