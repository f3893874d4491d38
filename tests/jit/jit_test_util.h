// Helpers of the jit tests: the ISA paths this machine runs, random layers, a cap guard.
#pragma once

#include <optional>
#include <random>
#include <vector>

#include "core/activation_quant.h"
#include "jit/cpu_detect.h"
#include "jit/kernel_build.h"
#include "tests/core/test_util.h"

namespace sherry::jit::test {

// x86-64 paths with generated kernels that this CPU can run (caps ignored).
inline std::vector<ir::Isa> runnable_isas() {
  std::vector<ir::Isa> isas;
  for (const ir::Isa isa : isa_preference()) {
    if (!has_generated_kernels(isa)) continue;
    bool ok = true;
    for (const CpuFeature f : isa_requirements(isa)) ok = ok && host_cpu().has(f);
    if (ok) isas.push_back(isa);
  }
  return isas;
}

// Sets the API cap for a scope.
class IsaCap {
 public:
  explicit IsaCap(std::optional<ir::Isa> isa) { set_max_isa(isa); }
  ~IsaCap() { set_max_isa(std::nullopt); }
};

using sherry::testing::random_activations;

// Activations at ±127 everywhere: every table entry at its extreme.
inline QuantizedActivations extreme_activations(int64_t tokens, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  QuantizedActivations x;
  x.tokens = tokens;
  x.cols = cols;
  x.values.resize(static_cast<size_t>(tokens * cols));
  for (int8_t& v : x.values) v = (rng() & 1) ? 127 : -127;
  x.scales.assign(static_cast<size_t>(tokens), 0.01f);
  return x;
}

}  // namespace sherry::jit::test
