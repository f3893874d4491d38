// The int8 dot-product issue rate of this core: vpdpbusd on zmm (AVX-512 VNNI) and on ymm
// (AVX-VNNI), from 10-12 independent accumulator chains (enough to hide the latency), the fastest
// of many short runs, so runs that shared the core do not count. Each instruction does 4
// multiply-adds per 32-bit lane: 64 on zmm, 32 on ymm. The compute floor of the dot GEMM family
// is this rate (docs/jit.md, "Dot GEMM family").
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "bench/common/bench_clock.h"

namespace sherry::bench {

// Each function below runs this loop on its own vector type (a target attribute does not reach
// into a shared template or lambda): kChains independent chains, best of kRuns runs.
inline constexpr int kVnniChains = 12;
inline constexpr int kVnniRuns = 200;
inline constexpr int64_t kVnniIterations = 20'000;

__attribute__((target("avx512f,avx512vnni"))) inline double vpdpbusd_zmm_per_second() {
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  double best = 0.0;
  for (int run = 0; run < kVnniRuns; ++run) {
    __m512i acc[kVnniChains];
    for (int c = 0; c < kVnniChains; ++c) acc[c] = _mm512_set1_epi32(c);  // distinct: not merged
    const auto start = Clock::now();
    for (int64_t i = 0; i < kVnniIterations; ++i) {
      for (__m512i& v : acc) v = _mm512_dpbusd_epi32(v, a, b);
    }
    const double seconds = seconds_since(start);
    __m512i sink = acc[0];
    for (int c = 1; c < kVnniChains; ++c) sink = _mm512_add_epi32(sink, acc[c]);
    asm volatile("" : : "v"(sink));
    best = std::max(best, kVnniChains * static_cast<double>(kVnniIterations) / seconds);
  }
  return best;
}

__attribute__((target("avx2,avxvnni"))) inline double vpdpbusd_ymm_per_second() {
  // Ten named chains: with an array GCC 12 stores every chain to the stack each iteration here.
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
  double best = 0.0;
  for (int run = 0; run < kVnniRuns; ++run) {
    __m256i c0 = _mm256_set1_epi32(0), c1 = _mm256_set1_epi32(1), c2 = _mm256_set1_epi32(2),
            c3 = _mm256_set1_epi32(3), c4 = _mm256_set1_epi32(4), c5 = _mm256_set1_epi32(5),
            c6 = _mm256_set1_epi32(6), c7 = _mm256_set1_epi32(7), c8 = _mm256_set1_epi32(8),
            c9 = _mm256_set1_epi32(9);
    const auto start = Clock::now();
    for (int64_t i = 0; i < kVnniIterations; ++i) {
      c0 = _mm256_dpbusd_avx_epi32(c0, a, b);
      c1 = _mm256_dpbusd_avx_epi32(c1, a, b);
      c2 = _mm256_dpbusd_avx_epi32(c2, a, b);
      c3 = _mm256_dpbusd_avx_epi32(c3, a, b);
      c4 = _mm256_dpbusd_avx_epi32(c4, a, b);
      c5 = _mm256_dpbusd_avx_epi32(c5, a, b);
      c6 = _mm256_dpbusd_avx_epi32(c6, a, b);
      c7 = _mm256_dpbusd_avx_epi32(c7, a, b);
      c8 = _mm256_dpbusd_avx_epi32(c8, a, b);
      c9 = _mm256_dpbusd_avx_epi32(c9, a, b);
    }
    const double seconds = seconds_since(start);
    __m256i sink = _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3));
    sink = _mm256_add_epi32(sink,
                            _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
    sink = _mm256_add_epi32(sink, _mm256_add_epi32(c8, c9));
    asm volatile("" : : "x"(sink));
    best = std::max(best, 10.0 * static_cast<double>(kVnniIterations) / seconds);
  }
  return best;
}

}  // namespace sherry::bench
