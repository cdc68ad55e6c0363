// A fixed pool of worker threads created at Interpreter::Create. Run() hands out task
// indices to the workers and the calling thread and returns when all are done; it
// allocates nothing, so kernels may use it inside Invoke.
#ifndef LITEQ_RUNTIME_THREAD_POOL_H_
#define LITEQ_RUNTIME_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace liteq::runtime {

class ThreadPool {
 public:
  // `num_threads` counts the caller: 1 means no workers.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  using TaskFn = void (*)(void* context, int task);
  void Run(int num_tasks, TaskFn fn, void* context);

  template <typename F>
  void ParallelFor(int num_tasks, F& f) {
    Run(
        num_tasks, [](void* c, int task) { (*static_cast<F*>(c))(task); }, &f);
  }

 private:
  void WorkerLoop();
  void DrainTasks();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  uint64_t generation_ = 0;
  int busy_workers_ = 0;
  bool stop_ = false;
  TaskFn fn_ = nullptr;
  void* context_ = nullptr;
  int num_tasks_ = 0;
  std::atomic<int> next_task_{0};
};

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_THREAD_POOL_H_
