// File: util/task_pool.h
//
// TaskPool: a fixed set of worker threads that run submitted tasks in
// submission order (FIFO; with several workers, tasks overlap). For work
// that is handed off many times a second -- a chunk group to compress --
// where starting a thread per task would cost more than the task's
// allocator warm-up and thread-local state (zstd contexts) are worth: the
// workers keep both.
//
// Submit returns a std::future for the task's result; a task's exception
// (there should be none: tasks return Status/Result) reaches the future.
// The destructor runs every task already submitted, then joins.
//
// Thread safety: Submit may be called from any thread.

#ifndef VCSNAP_UTIL_TASK_POOL_H_
#define VCSNAP_UTIL_TASK_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace vcsnap {

class TaskPool {
 public:
  // Starts `threads` workers (at least one).
  explicit TaskPool(unsigned threads) {
    if (threads == 0) threads = 1;
    workers_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) {
      workers_.emplace_back([this] { Work(); });
    }
  }
  ~TaskPool() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  template <class F>
  std::future<std::invoke_result_t<F>> Submit(F&& f) {
    using R = std::invoke_result_t<F>;
    // packaged_task is move-only and std::function needs a copyable target.
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    std::future<R> result = task->get_future();
    {
      std::lock_guard lock(mu_);
      queue_.emplace_back([task] { (*task)(); });
    }
    cv_.notify_one();
    return result;
  }

  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }

 private:
  void Work() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left to run
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace vcsnap

#endif  // VCSNAP_UTIL_TASK_POOL_H_
