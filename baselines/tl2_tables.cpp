#include "baselines/tl2_tables.h"

#include <array>

#include "jit/x64/table_builder.h"

namespace sherry::jit {
namespace {

// coefficient[p][index]: the sign-0 value of lane p in a TL2 index (tl2_format.h).
constexpr std::array<std::array<int16_t, kSlotCount>, kTl2GroupWeights> make_coefficients() {
  std::array<std::array<int16_t, kSlotCount>, kTl2GroupWeights> c{};
  for (int p = 0; p < kTl2GroupWeights; ++p) {
    for (int index = 0; index < kSlotCount; ++index) {
      c[p][index] = static_cast<int16_t>(tl2_lane_value(index, p));
    }
  }
  return c;
}
constexpr auto kCoefficients = make_coefficients();

}  // namespace

PackedTensor tl2_as_blocks(const Tl2Tensor& w) {
  const int64_t groups = tl2_groups(w.cols);
  PackedTensor blocks =
      PackedTensor::allocate(w.rows, kWeightsPerBlock * groups,
                             {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 0});
  for (int64_t m = 0; m < w.rows; ++m) {
    for (int64_t g = 0; g < groups; ++g) blocks.set_code(m, g, w.code(m, g));
  }
  for (uint16_t& s : blocks.scales) s = float_to_fp16(1.0f);
  return blocks;
}

void build_tl2_tables(const x64::KernelLayout& layout, const int8_t* q, int64_t k, int16_t* entries,
                      uint8_t* tables) {
  const int64_t blocks = layout.k_pad / kWeightsPerBlock;
  for (int64_t b = 0; b < blocks; ++b) {
    int16_t x[kTl2GroupWeights];
    for (int p = 0; p < kTl2GroupWeights; ++p) {
      const int64_t c = kTl2GroupWeights * b + p;
      x[p] = c < k ? q[c] : 0;
    }
    int16_t* v = entries + b * kSlotCount;
    for (int index = 0; index < kSlotCount; ++index) {
      v[index] =
          static_cast<int16_t>(kCoefficients[0][index] * x[0] + kCoefficients[1][index] * x[1] +
                               kCoefficients[2][index] * x[2]);
    }
  }
  x64::write_tables(layout, entries, tables);
}

}  // namespace sherry::jit
