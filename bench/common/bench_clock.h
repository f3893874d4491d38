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

// Core clock in GHz from a chain of dependent 64-bit multiplies (imul r64, r64: 3 cycles of
// latency on Zen 4 and on recent Intel cores alike): the fastest of many short runs, so runs that
// shared the core with other processes do not count. Not a chain of `add reg, imm`: recent Intel
// renamers fold those (it measured 20 GHz on a 3.9 GHz Xeon). (perf counters are not available in
// these VMs, and the TSC runs at a fixed unrelated rate.)
inline constexpr double kImulLatencyCycles = 3.0;

inline double measure_core_ghz() {
  const int64_t iterations = 40'000;
  double best = 0.0;
  for (int run = 0; run < 300; ++run) {
    uint64_t x = 3;
    const auto start = Clock::now();
    for (int64_t i = 0; i < iterations; ++i) {
      asm volatile(
          "imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0\n\t"
          "imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0"
          : "+r"(x));
    }
    best = std::max(best, 10.0 * kImulLatencyCycles * iterations / seconds_since(start) / 1e9);
  }
  return best;
}

}  // namespace sherry::bench
