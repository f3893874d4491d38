// Weight repacking into a kernel family's tile layout (x64_kernel.h, WeightFormat), done once at
// load, apart from compute: the codes, α per row and group, and per-group sign counts (negative
// blocks, or −Σ signs for the VBMI bias).
#pragma once

#include <cstdint>

#include "core/packed_tensor.h"
#include "jit/aligned_buffer.h"
#include "jit/x64/x64_kernel.h"

namespace sherry::jit::x64 {

struct RepackedWeights {
  AlignedBuffer<uint8_t> weights;  // tiles × tile_weight_bytes (+ one step of prefetch slack)
  // kCodeBytes only (kNibblePlanes' records and kNibblesSignMasks' headers carry both):
  AlignedBuffer<float> alpha;  // [tile][group][row of tile]
  // The number of negative blocks per [tile][group][row of tile]: the +1s of ~v + 1 that
  // preload the int32 accumulators.
  AlignedBuffer<int32_t> nneg;
  // kNibblesSignMasks: α (fp16) and −Σ signs per [tile][group], header_bytes each.
  AlignedBuffer<uint8_t> headers;
};

// Row of a vector of W code bytes that byte i holds: the order the in-lane unpacks of the
// code-bytes kernels turn into consecutive rows.
inline int64_t code_byte_row(int64_t vector_bytes, int64_t i) {
  return (i % 16) / 4 * (vector_bytes / 4) + i / 16 * 4 + i % 4;
}

// `w` must match the layout's shape (an internal check: the caller built the kernel for it).
RepackedWeights repack_weights(const PackedTensorView& w, const KernelLayout& layout);

}  // namespace sherry::jit::x64
