// Host side of a kernel call: per token, the activations (already int8) are permuted into block
// order and the lookup tables built in the kernel family's layout (kernel.h, WeightFormat).
#pragma once

#include <cstdint>

#include "core/weight_layout.h"
#include "jit/x64/x64_kernel.h"

namespace sherry::jit::x64 {

// Writes layout.table_bytes bytes at `tables`; `scratch` holds layout.k_pad int8.
void build_tables(const KernelLayout& layout, BlockGrouping grouping, const int8_t* q, int64_t k,
                  int8_t* scratch, uint8_t* tables);

// Writes layout.table_bytes bytes from given sign-0 entries (entries[16·b + slot] for each block b
// < k_pad/4, exact int16) as per-block planes (16 lo, 16 hi bytes; not kNibblesSignMasks' step
// tables): for tables whose entries are not sums over Sherry blocks, where AVX2 is not there to
// build them (the TL2-style baseline on SSSE3, baselines/tl2_tables.h). Must follow build_tables'
// per-block layout.
void write_tables(const KernelLayout& layout, const int16_t* entries, uint8_t* tables);

}  // namespace sherry::jit::x64
