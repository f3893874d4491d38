// Helpers shared by the core tests: seeded random weights and packed tensors.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "core/packed_tensor.h"

namespace sherry::test {

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

// Every block grouping with each scale granularity, group sizes at and above the minimum.
inline constexpr WeightLayout kTestLayouts[] = {
    {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128},
    {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 32},
    {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 0},
    {BlockGrouping::kContiguous, ScaleGranularity::kTensor, 0},
    {BlockGrouping::kStride16, ScaleGranularity::kGroup, 256},
    {BlockGrouping::kStride16, ScaleGranularity::kGroup, 64},
    {BlockGrouping::kStride16, ScaleGranularity::kChannel, 0},
    {BlockGrouping::kStride16, ScaleGranularity::kTensor, 0},
};

}  // namespace sherry::test
