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

  // Runs body(begin, end, thread_index) over a split of [0, tasks) into at most size() ranges
  // whose boundaries are multiples of `grain` (except the last). Not reentrant.
  using RangeBody = std::function<void(int64_t begin, int64_t end, int thread_index)>;
  void parallel_for(int64_t tasks, int64_t grain, const RangeBody& body);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const RangeBody* body_ = nullptr;
  int64_t tasks_ = 0;
  int64_t grain_ = 1;
  int active_ranges_ = 0;  // ranges this call is split into
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
};

}  // namespace sherry
