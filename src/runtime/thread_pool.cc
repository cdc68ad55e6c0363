#include "runtime/thread_pool.h"

namespace liteq::runtime {

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::DrainTasks() {
  for (int task = next_task_.fetch_add(1); task < num_tasks_; task = next_task_.fetch_add(1)) {
    fn_(context_, task);
  }
}

void ThreadPool::Run(int num_tasks, TaskFn fn, void* context) {
  if (workers_.empty() || num_tasks <= 1) {
    for (int task = 0; task < num_tasks; ++task) fn(context, task);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = fn;
    context_ = context;
    num_tasks_ = num_tasks;
    next_task_.store(0);
    busy_workers_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  start_cv_.notify_all();
  DrainTasks();
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return busy_workers_ == 0; });
}

void ThreadPool::WorkerLoop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    DrainTasks();
    std::lock_guard<std::mutex> lock(mu_);
    if (--busy_workers_ == 0) done_cv_.notify_one();
  }
}

}  // namespace liteq::runtime
