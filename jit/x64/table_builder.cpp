#include "jit/x64/table_builder.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "ir/tables.h"

#include "jit/x64/table_builder_avx2.h"
#include "jit/x64/table_builder_avx512.h"

namespace sherry::jit::x64 {
namespace {

constexpr LaneCoefficients kCoefficients = sherry_lane_coefficients();

// The 16 sign-0 entries of one block (a loop the compiler vectorises).
inline void block_entries(const int8_t* quad, int16_t* v) {
  for (int slot = 0; slot < kSlotCount; ++slot) {
    v[slot] =
        static_cast<int16_t>(kCoefficients[0][slot] * quad[0] + kCoefficients[1][slot] * quad[1] +
                             kCoefficients[2][slot] * quad[2] + kCoefficients[3][slot] * quad[3]);
  }
}

// int8 tables (ir/tables.h rule): per group, e + 128 per step, then τ in a 64-byte tail.
void build_int8_tables(const KernelLayout& layout, const int8_t* q, uint8_t* tables) {
  const int64_t steps_per_group = layout.k_pad / 16 / layout.groups;
#if defined(SHERRY_X86_64)
  x64::build_int8_tables_avx512(q, layout.groups, steps_per_group, tables);
  return;
#endif
  int16_t v[kSlotCount];
  uint8_t* out = tables;
  for (int64_t g = 0; g < layout.groups; ++g) {
    const int64_t first = g * steps_per_group * 4;  // block
    const int64_t last = first + steps_per_group * 4;
    int32_t max_abs = 0;
    for (int64_t b = first; b < last; ++b) {
      block_entries(q + b * kWeightsPerBlock, v);
      for (const int16_t e : v) max_abs = std::max<int32_t>(max_abs, std::abs(e));
    }
    const ir::Int8TableScale scale = ir::int8_table_scale(max_abs);
    for (int64_t b = first; b < last; ++b) {
      block_entries(q + b * kWeightsPerBlock, v);
      for (int slot = 0; slot < kSlotCount; ++slot) {
        out[(b - first) * 16 + slot] =
            static_cast<uint8_t>(ir::requantize_entry(v[slot], scale) + 128);
      }
    }
    out += steps_per_group * 64;
    std::memset(out, 0, 64);
    std::memcpy(out, &scale.tau, sizeof(float));
    out += 64;
  }
}

}  // namespace

void build_tables(const KernelLayout& layout, BlockGrouping grouping, const int8_t* q, int64_t k,
                  int8_t* scratch, uint8_t* tables) {
  ir::permute_to_block_order(grouping, q, k, layout.k_pad, scratch);
  const int64_t blocks = layout.k_pad / kWeightsPerBlock;
  int16_t v[kSlotCount];
  if (layout.format != WeightFormat::kNibblesSignMasks) {  // kCodeBytes' per-block planes
#if defined(SHERRY_X86_64)
    if (layout.vector_bytes >= 32) {  // the AVX2 and AVX-512BW paths
      sherry_table_builder().build(scratch, blocks, TablePlanes::kPerBlock, tables);
      return;
    }
#endif
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
  if (layout.table == ir::TablePrecision::kInt8Lossy) {
    build_int8_tables(layout, scratch, tables);
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

void write_tables(const KernelLayout& layout, const int16_t* entries, uint8_t* tables) {
  SHERRY_CHECK(
      layout.format != WeightFormat::kNibblesSignMasks,
      "write_tables writes per-block tables; the per-step ones come from the AVX2 builder");
  const int64_t blocks = layout.k_pad / kWeightsPerBlock;
  for (int64_t b = 0; b < blocks; ++b) {
    const int16_t* v = entries + b * kSlotCount;
    uint8_t* out = tables + b * 32;
    for (int slot = 0; slot < kSlotCount; ++slot) {
      out[slot] = static_cast<uint8_t>(v[slot] & 0xFF);
      out[16 + slot] = static_cast<uint8_t>((v[slot] >> 8) & 0xFF);
    }
  }
}

}  // namespace sherry::jit::x64
