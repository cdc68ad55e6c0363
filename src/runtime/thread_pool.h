// A fixed pool of worker threads created at Interpreter::Create. Run() hands out task
// indices to the workers and the calling thread and returns when all are done; it
// allocates nothing, so kernels may use it inside Invoke.
//
// Dispatch cost matters: a decode step runs a few hundred small ops (a 576 x 576 GEMV
// is ~25 us), so waking workers through a mutex and condition variable (tens of
// microseconds on a loaded machine) ate the second thread's gain. Workers therefore
// spin (with a pause instruction) for kSpinMicros after their last task, watching
// one atomic word, and only then sleep on the condition variable; Run() takes the
// mutex only when some worker sleeps. The caller waits for the tasks it handed out,
// not for the workers, so a sleeping worker never delays a Run. The spin yields the
// core now and then, so on an oversubscribed machine a spinning worker does not
// starve the thread that will hand it the next task.
//
// Task claiming: `state_` packs {generation (32 bits), next task (16), task count
// (16)}; a thread claims task i of generation g by a compare-exchange from {g, i, n}
// to {g, i + 1, n}, so a worker that saw an older generation can never run a task of
// a newer one with stale arguments. fn_/context_ are written only while no task is
// outstanding, before the release store that publishes a generation.
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

  // Tasks per Run: at most kMaxTasks (the task fields of `state_` are 16 bits).
  static constexpr int kMaxTasks = 0xffff;
  // How long an idle worker spins before it sleeps.
  static constexpr int kSpinMicros = 200;

  using TaskFn = void (*)(void* context, int task);
  // Runs fn(context, t) for t in [0, num_tasks), each exactly once. One Run at a time
  // (the interpreter runs its ops from one thread).
  void Run(int num_tasks, TaskFn fn, void* context);

  template <typename F>
  void ParallelFor(int num_tasks, F& f) {
    Run(
        num_tasks, [](void* c, int task) { (*static_cast<F*>(c))(task); }, &f);
  }

 private:
  void WorkerLoop();
  // Claims and runs tasks of the published generation until none is left.
  void DrainTasks();
  // Spins, then sleeps, until the generation differs from `seen` or stop_ is set.
  uint64_t WaitForWork(uint64_t seen);

  std::vector<std::thread> workers_;
  std::atomic<uint64_t> state_{0};  // generation << 32 | next task << 16 | task count
  std::atomic<int> done_tasks_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  TaskFn fn_ = nullptr;
  void* context_ = nullptr;
  std::mutex mu_;
  std::condition_variable wake_cv_;
};

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_THREAD_POOL_H_
