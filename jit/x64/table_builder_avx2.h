// AVX2 build of the 16-entry lookup tables of one table family: per block of 4 activations, the
// exact int16 entries v[slot] = Σ_p coefficient[p][slot] · q[p] (coefficients −1, 0 or +1), written
// as a lo byte plane (v & 0xFF) and a hi byte plane, either per block (kPerBlock: 16 lo then 16
// hi = v >> 8, the pshufb families' layout, WeightFormat::kCodeBytes and kNibblePlanes) or per
// step of 4 blocks (kPerStep: 64 lo then 64 biased hi = (v >> 8) + 2, kNibblesSignMasks). The
// Sherry slots use it on the avx2 and avx512bw paths (the scalar loop it replaced cost ~4 µs per
// call at K = 2048 on Zen 5: a third of a 512×2048 GEMV); the TL2-style baseline on every AVX2
// machine. Only called where AVX2 runs.
#pragma once

#include <array>
#include <cstdint>

#include "core/ternary_code.h"

namespace sherry::jit::x64 {

// coefficient[p][slot]: the sign-0 value of activation p of a block in a slot.
using LaneCoefficients = std::array<std::array<int8_t, kSlotCount>, kWeightsPerBlock>;

// The Sherry slots' coefficients (core/ternary_code.h).
constexpr LaneCoefficients sherry_lane_coefficients() {
  LaneCoefficients c{};
  for (int p = 0; p < kWeightsPerBlock; ++p) {
    for (int slot = 0; slot < kSlotCount; ++slot) {
      c[p][slot] = static_cast<int8_t>(slot_lane_value(static_cast<uint8_t>(slot), p));
    }
  }
  return c;
}

enum class TablePlanes : uint8_t { kPerBlock, kPerStep };

class BlockTableBuilder {
 public:
  explicit BlockTableBuilder(const LaneCoefficients& coefficients);
  // q: 4 activations per block; blocks: a multiple of 4 (whole steps).
  void build(const int8_t* q, int64_t blocks, TablePlanes planes, uint8_t* tables) const;

 private:
  // Word w of a ymm is slot w (lane w / 8, position w % 8). pick_[p] moves activation p's word
  // of a block (broadcast to every qword) into every slot's word; sign_[p] is its coefficient;
  // split_ gathers each 128-bit lane's lo bytes into its first 8 bytes, its hi bytes into the
  // last 8.
  alignas(32) std::array<std::array<uint8_t, 32>, kWeightsPerBlock> pick_{};
  alignas(32) std::array<std::array<int16_t, 16>, kWeightsPerBlock> sign_{};
  alignas(32) std::array<uint8_t, 32> split_{};
};

// The Sherry slots' builder (core/ternary_code.h).
const BlockTableBuilder& sherry_table_builder();

}  // namespace sherry::jit::x64
