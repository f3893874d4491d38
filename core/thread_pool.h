// A persistent pool of worker threads. Created once (per process or per model); parallel_for
// wakes the workers, splits [0, tasks) into contiguous ranges, runs one range on the calling
// thread too, and returns when all ranges are done. No thread is created per call.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sherry {

class ThreadPool {
 public:
  // threads = total threads including the caller; 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(int threads = 0);
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
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const RangeFn* body_ = nullptr;
  int64_t tasks_ = 0;
  int64_t grain_ = 1;
  int active_ranges_ = 0;  // ranges this call is split into
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
};

}  // namespace sherry
