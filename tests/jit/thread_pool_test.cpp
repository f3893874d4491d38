// core/thread_pool as jit::Linear uses it: every task runs once per call, ranges follow the
// grain, back-to-back calls and calls after the workers went to sleep both complete.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace sherry {
namespace {

void check_once(ThreadPool& pool, int64_t tasks, int64_t grain) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(tasks));
  pool.parallel_for(tasks, grain, [&](int64_t begin, int64_t end, int thread) {
    CHECK(thread < pool.size());
    if (end < tasks) CHECK(end % grain == 0);
    for (int64_t i = begin; i < end; ++i) ++hits[i];
  });
  for (int64_t i = 0; i < tasks; ++i) REQUIRE(hits[i] == 1);
}

TEST_CASE("parallel_for runs every task exactly once") {
  for (const int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    for (const int64_t tasks : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{100}}) {
      for (const int64_t grain : {int64_t{1}, int64_t{3}}) check_once(pool, tasks, grain);
    }
  }
}

TEST_CASE("back to back calls and calls after sleeping both complete") {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int call = 0; call < 2000; ++call) {
    pool.parallel_for(6, 1, [&](int64_t begin, int64_t end, int) { sum += end - begin; });
  }
  CHECK(sum == 12000);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers are asleep by now
  check_once(pool, 9, 1);
  pool.parallel_for(0, 1, [&](int64_t, int64_t, int) { FAIL("no tasks, no call"); });
}

TEST_CASE("a call right after construction waits for workers that have not started yet") {
  for (int round = 0; round < 200; ++round) {
    ThreadPool pool(3);
    check_once(pool, 3, 1);
  }
}

TEST_CASE("workers that sleep at once and workers that poll both serve every call") {
  for (const int64_t spin_us : {int64_t{0}, int64_t{50}, int64_t{5000}}) {
    ThreadPool pool(2, spin_us);
    std::atomic<int64_t> sum{0};
    for (int call = 0; call < 500; ++call) {
      pool.parallel_for(2, 1, [&](int64_t begin, int64_t end, int) { sum += end - begin; });
      if (call % 100 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    CHECK(sum == 1000);
  }
}

}  // namespace
}  // namespace sherry
