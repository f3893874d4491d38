// AVX-512BW build of the step tables of WeightFormat::kNibblesSignMasks: per step of 16
// block-order activations, 4 blocks × 16 sign-0 slots of exact int16 entries v, stored as a lo
// byte plane (v & 0xFF) and a biased hi plane ((v >> 8) + 2). Only called where the AVX-512 VBMI
// path runs (which requires AVX-512BW).
#pragma once

#include <cstdint>

namespace sherry::jit::x64 {

void build_step_tables_avx512(const int8_t* q, int64_t steps, uint8_t* tables);

// The int8 variant (ir/tables.h rule): per group, 64 entries per step as e + 128 (u8), then
// 64 bytes holding τ (fp32) first.
void build_int8_tables_avx512(const int8_t* q, int64_t groups, int64_t steps_per_group,
                              uint8_t* tables);

}  // namespace sherry::jit::x64
