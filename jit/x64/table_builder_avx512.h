// AVX-512BW build of the sign-folded tables (WeightFormat::kNibblesSignMasks): per step of 16
// block-order activations, 4 blocks × 32 codes of exact int16 entries split into lo/hi byte
// planes. Only called where the AVX-512 VBMI path runs (which requires AVX-512BW).
#pragma once

#include <cstdint>

namespace sherry::jit::x64 {

void build_sign_folded_tables_avx512(const int8_t* q, int64_t steps, uint8_t* tables);

}  // namespace sherry::jit::x64
