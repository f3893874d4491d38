// Host side of a dot kernel call (dot_gemm_gen.h): per token, the record the kernel reads: the
// int8 activations permuted into block order and zero-padded to k_pad, then −Σ of each scale
// group's activations as int32 (the start of the group's accumulators), padded to 64 bytes.
#pragma once

#include <cstdint>

#include "core/weight_layout.h"
#include "jit/x64/x64_kernel.h"

namespace sherry::jit::x64 {

// Bytes of one token's record.
int64_t dot_record_bytes(int64_t k_pad, int64_t groups);

// Writes dot_record_bytes(layout.k_pad, layout.groups) bytes at `record`.
void build_dot_record(const KernelLayout& layout, BlockGrouping grouping, const int8_t* q,
                      int64_t k, uint8_t* record);

}  // namespace sherry::jit::x64
