// Helpers shared by the core tests: seeded random weights and packed tensors (testing/), the
// list of test layouts.
#pragma once

#include <cstdint>

#include "core/packed_tensor.h"
#include "testing/random_tensors.h"

namespace sherry::test {

using sherry::testing::random_floats;
using sherry::testing::random_packed;

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
