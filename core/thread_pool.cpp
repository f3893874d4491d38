#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace sherry {
namespace {

// Range r of `ranges` over [0, tasks), boundaries rounded to `grain`.
std::pair<int64_t, int64_t> split_range(int64_t tasks, int64_t grain, int ranges, int r) {
  const int64_t units = (tasks + grain - 1) / grain;
  const int64_t begin_unit = units * r / ranges;
  const int64_t end_unit = units * (r + 1) / ranges;
  return {std::min(tasks, begin_unit * grain), std::min(tasks, end_unit * grain)};
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

int64_t spin_from_environment() {
  const char* env = std::getenv("SHERRY_SPIN_US");
  if (env == nullptr || *env == '\0') return ThreadPool::kDefaultSpinUs;
  char* end = nullptr;
  const long long value = std::strtoll(env, &end, 10);
  // A value that is not a whole number of microseconds keeps the default.
  if (end == env || *end != '\0' || value < 0) return ThreadPool::kDefaultSpinUs;
  return value;
}

// Waits until `value` differs from `old` (returning the new value): polls for spin_us, then
// sleeps on the futex.
int wait_for_change(const std::atomic<int>& value, int old, int64_t spin_us) {
  int now = value.load(std::memory_order_acquire);
  if (now != old || spin_us <= 0) {
    while (now == old) {
      value.wait(old, std::memory_order_acquire);
      now = value.load(std::memory_order_acquire);
    }
    return now;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
  for (int i = 1;; ++i) {
    cpu_relax();
    now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    // The clock is read every 64 polls: a poll is a few nanoseconds.
    if (i % 64 == 0 && std::chrono::steady_clock::now() >= deadline) break;
  }
  while (now == old) {
    value.wait(old, std::memory_order_acquire);
    now = value.load(std::memory_order_acquire);
  }
  return now;
}

}  // namespace

ThreadPool::ThreadPool(int threads, int64_t spin_us)
    : spin_us_(spin_us < 0 ? spin_from_environment() : spin_us) {
  if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(threads - 1);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
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
  body_ = &body;
  tasks_ = tasks;
  grain_ = grain;
  active_ranges_ = ranges;
  pending_.store(size() - 1, std::memory_order_relaxed);  // every worker answers each call
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();  // no system call while every worker is still polling
  const auto [begin, end] = split_range(tasks, grain, ranges, 0);
  body(begin, end, 0);
  for (int left = pending_.load(std::memory_order_acquire); left != 0;
       left = pending_.load(std::memory_order_acquire)) {
    wait_for_change(pending_, left, spin_us_);
  }
  body_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
  // 0, not a load: a call made before this thread first runs still waits for it (pending_).
  int seen = 0;
  while (true) {
    seen = wait_for_change(generation_, seen, spin_us_);
    if (stopping_.load(std::memory_order_acquire)) return;
    if (index < active_ranges_) {
      const auto [begin, end] = split_range(tasks_, grain_, active_ranges_, index);
      (*body_)(begin, end, index);
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

}  // namespace sherry
