// The pool behind parallel_for: workers wait on a condition variable for chunks of
// the current loop; the calling thread works too and waits for the rest.
#include "engine/backend/cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace lw::cpu {
namespace {

thread_local bool t_in_worker = false;

// One parallel loop. Workers hold it by shared_ptr, so a worker that wakes late
// finds it exhausted (next >= n) and never touches the caller's stack.
struct Job {
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t n, chunk;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> pending;
};

class Pool {
 public:
  Pool() {
    unsigned hw = std::thread::hardware_concurrency();
    int n = static_cast<int>(std::clamp(hw == 0 ? 1u : hw, 1u, 64u));
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void run(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn) {
    std::lock_guard<std::mutex> loop_lock(loop_mu_);  // one parallel loop at a time
    auto job = std::make_shared<Job>();
    job->fn = &fn;
    job->n = n;
    job->chunk = chunk;
    job->pending.store((n + chunk - 1) / chunk);
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = job;
      ++generation_;
    }
    cv_.notify_all();
    t_in_worker = true;
    drain(*job);
    t_in_worker = false;
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return job->pending.load() == 0; });
    job_.reset();
  }

 private:
  void drain(Job& job) {
    for (;;) {
      int64_t begin = job.next.fetch_add(job.chunk);
      if (begin >= job.n) return;
      (*job.fn)(begin, std::min(job.n, begin + job.chunk));
      if (job.pending.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lock(mu_);
        done_cv_.notify_all();
      }
    }
  }
  void work() {
    t_in_worker = true;
    uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || (generation_ != seen && job_ != nullptr); });
        if (stop_) return;
        seen = generation_;
        job = job_;
      }
      drain(*job);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex loop_mu_, mu_;
  std::condition_variable cv_, done_cv_;
  std::shared_ptr<Job> job_;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int num_threads() { return pool().size(); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int threads = num_threads();
  if (t_in_worker || threads == 1 || n <= grain) {
    fn(0, n);
    return;
  }
  int64_t chunk = std::max(grain, (n + threads * 4 - 1) / (threads * 4));
  pool().run(n, chunk, fn);
}

}  // namespace lw::cpu
