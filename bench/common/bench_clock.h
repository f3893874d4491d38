// Timing helpers shared by the benchmarks: wall seconds and the core clock.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace sherry::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Core clock in GHz from a chain of dependent adds (one cycle each on every x86-64 core): the
// fastest of many short runs, so runs that shared the core with other processes do not count.
// (perf counters are not available in these VMs, and the TSC runs at a fixed unrelated rate.)
inline double measure_core_ghz() {
  const int64_t iterations = 100'000;
  double best = 0.0;
  for (int run = 0; run < 300; ++run) {
    uint64_t x = 0;
    const auto start = Clock::now();
    for (int64_t i = 0; i < iterations; ++i) {
      asm volatile(
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
          : "+r"(x));
    }
    best = std::max(best, 10.0 * iterations / seconds_since(start) / 1e9);
  }
  return best;
}

}  // namespace sherry::bench
