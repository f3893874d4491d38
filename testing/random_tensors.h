// Seeded random inputs shared by the tests, the benchmarks and sherry-tune: weights, packed
// tensors and quantized activations. Deterministic for a seed, so a failure or a benchmark row
// can be replayed.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "core/activation_quant.h"
#include "core/half.h"
#include "core/packed_tensor.h"

namespace sherry::testing {

// Normally distributed floats (mean 0, standard deviation `scale`).
inline std::vector<float> random_floats(int64_t count, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> values(static_cast<size_t>(count));
  for (float& v : values) v = dist(rng);
  return values;
}

// A packed tensor with uniformly random codes and random positive fp16 scales.
inline PackedTensor random_packed(int64_t rows, int64_t cols, const WeightLayout& layout,
                                  uint32_t seed) {
  std::mt19937 rng(seed);
  PackedTensor packed = PackedTensor::allocate(rows, cols, layout);
  for (int64_t m = 0; m < rows; ++m) {
    for (int64_t b = 0; b < cols / kWeightsPerBlock; ++b) {
      packed.set_code(m, b, static_cast<uint8_t>(rng() % kCodeCount));
    }
  }
  std::uniform_real_distribution<float> alpha(0.01f, 2.0f);
  for (uint16_t& s : packed.scales) s = float_to_fp16(alpha(rng));
  return packed;
}

// random_floats quantized per token (core/activation_quant.h).
inline QuantizedActivations random_activations(int64_t tokens, int64_t cols, uint32_t seed) {
  const std::vector<float> x = random_floats(tokens * cols, seed);
  return quantize_activations_i8(x.data(), tokens, cols);
}

}  // namespace sherry::testing
