#include "core/thread_pool.h"

#include <algorithm>

namespace sherry {
namespace {

// Range r of `ranges` over [0, tasks), boundaries rounded to `grain`.
std::pair<int64_t, int64_t> split_range(int64_t tasks, int64_t grain, int ranges, int r) {
  const int64_t units = (tasks + grain - 1) / grain;
  const int64_t begin_unit = units * r / ranges;
  const int64_t end_unit = units * (r + 1) / ranges;
  return {std::min(tasks, begin_unit * grain), std::min(tasks, end_unit * grain)};
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(threads - 1);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::parallel_for(int64_t tasks, int64_t grain, RangeFn body) {
  if (tasks <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t units = (tasks + grain - 1) / grain;
  const int ranges = static_cast<int>(std::min<int64_t>(size(), units));
  if (ranges == 1) {
    body(0, tasks, 0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    body_ = &body;
    tasks_ = tasks;
    grain_ = grain;
    active_ranges_ = ranges;
    pending_ = ranges - 1;
    ++generation_;
  }
  wake_.notify_all();
  const auto [begin, end] = split_range(tasks, grain, ranges, 0);
  body(begin, end, 0);
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return pending_ == 0; });
  body_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen_generation = 0;
  while (true) {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [&] { return stopping_ || generation_ != seen_generation; });
    if (stopping_) return;
    seen_generation = generation_;
    if (index >= active_ranges_) continue;
    const RangeFn* body = body_;
    const auto [begin, end] = split_range(tasks_, grain_, active_ranges_, index);
    lock.unlock();
    (*body)(begin, end, index);
    lock.lock();
    if (--pending_ == 0) done_.notify_one();
  }
}

}  // namespace sherry
