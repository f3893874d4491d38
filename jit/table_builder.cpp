#include "jit/table_builder.h"

#include <array>

#include "ir/tables.h"

#if defined(SHERRY_X86_64)
#include "jit/x64/table_builder_avx512.h"
#endif

namespace sherry::jit {
namespace {

// coefficient[p][slot]: the sign-0 value lane p takes in a slot (ternary_code.h).
constexpr std::array<std::array<int16_t, kSlotCount>, kWeightsPerBlock> make_coefficients() {
  std::array<std::array<int16_t, kSlotCount>, kWeightsPerBlock> c{};
  for (int p = 0; p < kWeightsPerBlock; ++p) {
    for (int slot = 0; slot < kSlotCount; ++slot) {
      c[p][slot] = static_cast<int16_t>(slot_lane_value(static_cast<uint8_t>(slot), p));
    }
  }
  return c;
}
constexpr auto kCoefficients = make_coefficients();

// The 16 sign-0 entries of one block (a loop the compiler vectorises).
inline void block_entries(const int8_t* quad, int16_t* v) {
  for (int slot = 0; slot < kSlotCount; ++slot) {
    v[slot] =
        static_cast<int16_t>(kCoefficients[0][slot] * quad[0] + kCoefficients[1][slot] * quad[1] +
                             kCoefficients[2][slot] * quad[2] + kCoefficients[3][slot] * quad[3]);
  }
}

}  // namespace

void build_tables(const KernelLayout& layout, BlockGrouping grouping, const int8_t* q, int64_t k,
                  int8_t* scratch, uint8_t* tables) {
  ir::permute_to_block_order(grouping, q, k, layout.k_pad, scratch);
  const int64_t blocks = layout.k_pad / kWeightsPerBlock;
  int16_t v[kSlotCount];
  if (layout.format == WeightFormat::kCodeBytes) {
    for (int64_t b = 0; b < blocks; ++b) {
      block_entries(scratch + b * kWeightsPerBlock, v);
      uint8_t* out = tables + b * 32;
      for (int slot = 0; slot < kSlotCount; ++slot) {
        out[slot] = static_cast<uint8_t>(v[slot] & 0xFF);
        out[16 + slot] = static_cast<uint8_t>((v[slot] >> 8) & 0xFF);
      }
    }
    return;
  }
  // Per step: lo plane [block j][slot] at 16j + slot, biased hi plane (hi + 2) 64 bytes later.
#if defined(SHERRY_X86_64)
  // The only x86-64 path with this format requires AVX-512BW.
  x64::build_step_tables_avx512(scratch, blocks / 4, tables);
  return;
#endif
  for (int64_t b = 0; b < blocks; ++b) {
    block_entries(scratch + b * kWeightsPerBlock, v);
    uint8_t* lo = tables + (b / 4) * 128 + (b % 4) * 16;
    uint8_t* hi = lo + 64;
    for (int slot = 0; slot < kSlotCount; ++slot) {
      lo[slot] = static_cast<uint8_t>(v[slot] & 0xFF);
      hi[slot] = static_cast<uint8_t>((v[slot] >> 8) + 2);
    }
  }
}

}  // namespace sherry::jit
