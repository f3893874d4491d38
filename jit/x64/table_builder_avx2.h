// AVX2 build of the per-block tables of the pshufb families (WeightFormat::kCodeBytes and
// kNibblePlanes): per block of 4 block-order activations, the 16 sign-0 slots' exact int16
// entries v as a lo byte plane (v & 0xFF) and a hi byte plane ((v >> 8) & 0xFF), 32 bytes. The
// scalar loop it replaces cost ~4 µs per call at K = 2048 on Zen 5: a third of a 512×2048 GEMV.
// Only called where an AVX2 or AVX-512BW path runs.
#pragma once

#include <cstdint>

namespace sherry::jit::x64 {

void build_block_tables_avx2(const int8_t* q, int64_t blocks, uint8_t* tables);

}  // namespace sherry::jit::x64
