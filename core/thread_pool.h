// A persistent pool of worker threads. Created once (per process or per model); parallel_for
// hands [0, tasks) out in contiguous ranges, runs one range on the calling thread too, and
// returns when all ranges are done. No thread is created per call.
//
// Hand-off: spin, then sleep. A decode step calls parallel_for every few microseconds, where a
// condition-variable wake and join cost more than a small GEMV's work (2048 x 2048 ran slower on
// two threads than on one). So workers poll the call counter for a while after each call
// (SHERRY_SPIN_US, default kDefaultSpinUs) and only then sleep on a futex (std::atomic::wait);
// the caller polls the completion count the same way. A pool idle for longer costs no CPU.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace sherry {

class ThreadPool {
 public:
  static constexpr int64_t kDefaultSpinUs = 200;

  // threads = total threads including the caller; 0 means std::thread::hardware_concurrency().
  // spin_us: how long a worker (and the caller) polls before sleeping; -1 reads SHERRY_SPIN_US
  // (default kDefaultSpinUs), 0 sleeps at once.
  explicit ThreadPool(int threads = 0, int64_t spin_us = -1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // An owning body, for callers that keep one across calls.
  using RangeBody = std::function<void(int64_t begin, int64_t end, int thread_index)>;

  // A non-owning reference to any callable body(begin, end, thread_index): unlike converting a
  // capturing lambda to std::function, it never allocates, so the decode loop stays
  // allocation-free.
  class RangeFn {
   public:
    template <class Body>
    RangeFn(const Body& body)  // NOLINT: implicit so lambdas pass straight through
        : object_(&body), call_([](const void* object, int64_t begin, int64_t end, int thread) {
            (*static_cast<const Body*>(object))(begin, end, thread);
          }) {}
    void operator()(int64_t begin, int64_t end, int thread) const {
      call_(object_, begin, end, thread);
    }

   private:
    const void* object_;
    void (*call_)(const void*, int64_t, int64_t, int);
  };

  // Runs body(begin, end, thread_index) over a split of [0, tasks) into at most size() ranges
  // whose boundaries are multiples of `grain` (except the last). Not reentrant. The body must
  // outlive the call (a temporary lambda in the argument list does).
  void parallel_for(int64_t tasks, int64_t grain, RangeFn body);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  int64_t spin_us_;
  // The call in progress: written by the caller before it bumps generation_ (release), read by
  // the workers after they see the new generation (acquire).
  const RangeFn* body_ = nullptr;
  int64_t tasks_ = 0;
  int64_t grain_ = 1;
  int active_ranges_ = 0;  // ranges this call is split into
  // 32-bit counters: std::atomic<int>::wait is a plain futex on Linux.
  std::atomic<int> generation_{0};  // calls so far (wraps)
  std::atomic<int> pending_{0};     // worker ranges of this call not yet done
  std::atomic<bool> stopping_{false};
};

}  // namespace sherry
