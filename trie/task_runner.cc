// Copyright (c) Vellum authors.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "trie/trie.h"
#include "vellum/check.h"

namespace vellum::trie {
namespace {

// A fixed pool; RunAll hands out the tasks and the calling thread works too, so a
// pool of N threads runs N+1 tasks at once and never deadlocks on nested use.
class ThreadPoolTaskRunner final : public TaskRunner {
 public:
  explicit ThreadPoolTaskRunner(int threads) {
    VELLUM_CHECK_GE(threads, 1);
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }

  ~ThreadPoolTaskRunner() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  void RunAll(std::vector<std::function<void()>>& tasks) override {
    std::mutex done_mu;
    std::condition_variable done_cv;
    size_t remaining = tasks.size();
    auto finish_one = [&] {
      std::lock_guard<std::mutex> lock(done_mu);
      if (--remaining == 0) done_cv.notify_all();
    };
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& task : tasks) {
        queue_.push_back([&task, &finish_one] {
          task();
          finish_one();
        });
      }
    }
    cv_.notify_all();
    // Help with the queue until it is empty, then wait for the stragglers.
    for (;;) {
      std::function<void()> job;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.empty()) break;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
    std::unique_lock<std::mutex> lock(done_mu);
    done_cv.wait(lock, [&] { return remaining == 0; });
  }

 private:
  void WorkerLoop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

std::unique_ptr<TaskRunner> NewThreadPoolTaskRunner(int threads) {
  return std::make_unique<ThreadPoolTaskRunner>(threads);
}

}  // namespace vellum::trie
