// A small deterministic generator whose whole state is one uint64 (trivial to checkpoint):
// SplitMix64. Same sequence on every platform and compiler, unlike std:: distributions.
#pragma once

#include <cmath>
#include <cstdint>

namespace sherry::train {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}
  uint64_t state() const { return state_; }
  void set_state(uint64_t state) { state_ = state; }

  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, bound); bound > 0. (The tiny modulo bias is irrelevant here.)
  uint64_t below(uint64_t bound) { return next_u64() % bound; }
  // Standard normal (Box-Muller, one value per call).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

}  // namespace sherry::train
