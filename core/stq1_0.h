// STQ1_0, the one public format for 3:4 sparse ternary weights (llama.cpp's proposed type):
// 42 bytes per 256 weights. Group g (0..63) of a block covers weights 64·(g/16) + (g%16) + 16·p in
// llama.cpp's layout (BlockGrouping::kStride16), or 4g + p where a file says its blocks are
// contiguous quads (BlockGrouping::kContiguous, docs/format.md §3); its 4-bit slot is nibble g&1 of
// qs[g/2], its sign bit g%8 of sign[g/8]; d (fp16) multiplies every ternary value of the 256
// weights.
#pragma once

#include <cstdint>
#include <vector>

#include "core/packed_tensor.h"

namespace sherry {

inline constexpr uint32_t kStq1_0TypeIdReleased = 42;  // released GGUF files
inline constexpr uint32_t kStq1_0TypeIdLlamaCpp = 43;  // newer llama.cpp
inline constexpr int64_t kStq1_0BlockWeights = 256;

struct Stq1_0Block {
  uint8_t qs[32];
  uint8_t sign[8];
  uint16_t d;  // fp16 bits
};
static_assert(sizeof(Stq1_0Block) == 42, "STQ1_0 block must be 42 bytes");

// The layout a PackedTensor must have to convert losslessly to and from STQ1_0 (llama.cpp's
// grouping), and the same with another block grouping.
inline constexpr WeightLayout kStq1_0Layout{BlockGrouping::kStride16, ScaleGranularity::kGroup,
                                            256};
inline constexpr WeightLayout stq1_0_layout(BlockGrouping grouping) {
  return {grouping, ScaleGranularity::kGroup, 256};
}

// Lossless conversion: group g of block i is block 64·i + g of the row in the tensor's storage
// order, whichever the grouping. Errors: cols not a multiple of 256, or a layout other than
// stq1_0_layout(either grouping).
Result<std::vector<Stq1_0Block>> pack_stq1_0(const PackedTensorView& w,
                                             std::string_view what = "matrix");
// `blocks` holds rows × cols/256 blocks, row-major; `grouping` says which weights a group covers.
Result<PackedTensor> unpack_stq1_0(const Stq1_0Block* blocks, int64_t rows, int64_t cols,
                                   std::string_view what = "matrix",
                                   BlockGrouping grouping = BlockGrouping::kStride16);

}  // namespace sherry
