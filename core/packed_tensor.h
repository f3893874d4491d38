// A Sherry-packed weight matrix: 5-bit codes at 1.25 bits/weight plus fp16 scales.
// Bit layout (docs/format.md §2): each row is a sequence of 5-byte chunks, one per 8 blocks
// (32 weights) in storage order: bytes 0..3 hold the 4-bit slots (block j of the chunk in
// nibble j&1 of byte j/2, low nibble first), byte 4 the sign bits (block j in bit j).
// A row of cols weights takes packed_row_bytes(cols) = ceil(cols/32)·5 bytes; blocks past
// cols/4 in the last chunk are padding, written as 0 and never read.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/half.h"
#include "core/ternary_code.h"
#include "core/weight_layout.h"

namespace sherry {

inline constexpr int64_t kChunkWeights = 32;
inline constexpr int64_t kChunkBlocks = 8;
inline constexpr int64_t kChunkBytes = 5;

inline int64_t packed_row_bytes(int64_t cols) {
  return (cols + kChunkWeights - 1) / kChunkWeights * kChunkBytes;
}

// Non-owning view (of an mmapped file or of a PackedTensor).
struct PackedTensorView {
  int64_t rows = 0;  // M: output features
  int64_t cols = 0;  // K: input features
  WeightLayout layout;
  const uint8_t* codes = nullptr;    // rows × packed_row_bytes(cols)
  const uint16_t* scales = nullptr;  // fp16 bits, scale_count(layout, rows, cols) values, row-major

  int64_t blocks_per_row() const { return cols / kWeightsPerBlock; }
  int64_t row_bytes() const { return packed_row_bytes(cols); }

  uint8_t code(int64_t row, int64_t block) const {
    const uint8_t* chunk = codes + row * row_bytes() + (block / kChunkBlocks) * kChunkBytes;
    const int64_t j = block % kChunkBlocks;
    const uint8_t slot = (chunk[j / 2] >> (4 * (j & 1))) & 0x0F;
    const uint8_t sign = (chunk[4] >> j) & 1;
    return make_code(sign, slot);
  }
  // α of the accumulation group `group` of `row`, as stored (fp16 bits) and as a float.
  uint16_t scale_bits(int64_t row, int64_t group) const {
    if (layout.granularity == ScaleGranularity::kTensor) return scales[0];
    return scales[row * scale_groups_per_row(layout, cols) + group];
  }
  float scale(int64_t row, int64_t group) const { return fp16_to_float(scale_bits(row, group)); }
};

struct PackedTensor {
  int64_t rows = 0;
  int64_t cols = 0;
  WeightLayout layout;
  std::vector<uint8_t> codes;
  std::vector<uint16_t> scales;

  // Zero-filled storage of the right size (codes all 0, scales 0).
  static PackedTensor allocate(int64_t rows, int64_t cols, const WeightLayout& layout);

  void set_code(int64_t row, int64_t block, uint8_t code);
  PackedTensorView view() const { return {rows, cols, layout, codes.data(), scales.data()}; }
  uint8_t code(int64_t row, int64_t block) const { return view().code(row, block); }
};

// Whether tensors can be stacked row-wise into one tensor with the same codes and scales: one
// layout and input width, scales per group or row (a per-tensor α differs between the parts).
bool rows_stackable(std::span<const PackedTensorView> parts);

}  // namespace sherry
