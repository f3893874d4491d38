#include "baselines/tl2_tables.h"

#include <array>

#include "jit/x64/table_builder.h"
#include "jit/x64/table_builder_avx2.h"

namespace sherry::jit {
namespace {

// coefficient[p][index]: the sign-0 value of lane p in a TL2 index (tl2_format.h); a TL2 group
// has 3 lanes, so lane 3 stays 0.
constexpr x64::LaneCoefficients make_coefficients() {
  x64::LaneCoefficients c{};
  for (int p = 0; p < kTl2GroupWeights; ++p) {
    for (int index = 0; index < kSlotCount; ++index) {
      c[p][index] = static_cast<int8_t>(tl2_lane_value(index, p));
    }
  }
  return c;
}
constexpr x64::LaneCoefficients kCoefficients = make_coefficients();

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

void build_tl2_tables(const x64::KernelLayout& layout, const int8_t* q, int64_t k, uint8_t* scratch,
                      uint8_t* tables) {
  const int64_t blocks = layout.k_pad / kWeightsPerBlock;
  if (layout.vector_bytes >= 32) {  // the avx2, avx512bw and avx512vbmi paths: AVX2 runs
    // Group b's 3 activations and a 0 as block b of 4.
    auto* quads = reinterpret_cast<int8_t*>(scratch);
    for (int64_t b = 0; b < blocks; ++b) {
      for (int p = 0; p < kWeightsPerBlock; ++p) {
        const int64_t c = kTl2GroupWeights * b + p;
        quads[kWeightsPerBlock * b + p] = p < kTl2GroupWeights && c < k ? q[c] : int8_t{0};
      }
    }
    static const x64::BlockTableBuilder builder(kCoefficients);
    builder.build(quads, blocks,
                  layout.format == WeightFormat::kNibblesSignMasks ? x64::TablePlanes::kPerStep
                                                                   : x64::TablePlanes::kPerBlock,
                  tables);
    return;
  }
  auto* entries = reinterpret_cast<int16_t*>(scratch);
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
