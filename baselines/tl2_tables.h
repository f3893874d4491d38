// TL2-style layers run on the Sherry LUT kernels of this JIT: a TL2 group of 3 weights has the
// same shape of code as a Sherry block of 4 (a sign and a 4-bit index into a 16-entry table of
// sums of activations), so the kernels only see different tables. This file maps a TL2 tensor
// onto a packed "block" tensor (one block per TL2 group, one α = 1 per row: the tensor's α is
// applied on the way out) and builds the TL2 tables in a kernel family's table layout.
#pragma once

#include <cstdint>

#include "baselines/tl2_format.h"
#include "core/packed_tensor.h"
#include "jit/x64/x64_kernel.h"

namespace sherry::jit {

// Rows × 4·tl2_groups(cols) packed tensor whose block g of row m holds TL2 code (m, g);
// per-channel α = 1.
PackedTensor tl2_as_blocks(const Tl2Tensor& w);

// Writes layout.table_bytes bytes: per block b < k_pad/4, the 16 entries of TL2 group b of q
// (activations past k are 0), in the layout's format: for the paths with 32- and 64-byte vectors
// built with AVX2 as the Sherry tables are (jit/x64/table_builder_avx2.h), for SSSE3 by
// write_tables (jit/x64/table_builder.h).
// `scratch` holds k_pad/4 · 16 int16.
void build_tl2_tables(const x64::KernelLayout& layout, const int8_t* q, int64_t k, uint8_t* scratch,
                      uint8_t* tables);

}  // namespace sherry::jit
