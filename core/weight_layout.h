// How a (rows × cols) weight matrix is cut into blocks of 4 and scale groups.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace sherry {

// Which 4 weights of a row form block b (b counts blocks in storage order).
enum class BlockGrouping : uint8_t {
  kContiguous,  // block b = weights 4b .. 4b+3 (the reference training code's grouping)
  kStride16,    // STQ1_0: in 64-weight chunk c, block 16c+g = weights 64c + g + 16p, p = 0..3
};

enum class ScaleGranularity : uint8_t {
  kGroup,    // one α per group_size consecutive weights of a row
  kChannel,  // one α per row
  kTensor,   // one α for the whole matrix
};

struct WeightLayout {
  BlockGrouping grouping = BlockGrouping::kContiguous;
  ScaleGranularity granularity = ScaleGranularity::kGroup;
  int64_t group_size = 128;  // used for kGroup only

  bool operator==(const WeightLayout&) const = default;
};

std::string_view to_string(BlockGrouping grouping);        // "contiguous" | "stride16"
std::string_view to_string(ScaleGranularity granularity);  // "group" | "channel" | "tensor"
Result<BlockGrouping> parse_block_grouping(std::string_view text);
Result<ScaleGranularity> parse_scale_granularity(std::string_view text);

// Checks that a (rows × cols) matrix can use this layout: cols a multiple of 4 (64 for
// kStride16), group_size a positive multiple of 4 (of 64 for kStride16) dividing cols.
// `what` names the object in the message (a tensor name, "matrix", ...).
Status validate_layout(const WeightLayout& layout, int64_t rows, int64_t cols,
                       std::string_view what);

// Column of weight p (0..3) of block b within a row.
inline int64_t block_weight_column(BlockGrouping grouping, int64_t block, int lane) {
  if (grouping == BlockGrouping::kContiguous) return 4 * block + lane;
  return 64 * (block / 16) + (block % 16) + 16 * lane;
}

// Number of α per row (1 for channel and tensor granularity: the accumulation group is the row).
inline int64_t scale_groups_per_row(const WeightLayout& layout, int64_t cols) {
  return layout.granularity == ScaleGranularity::kGroup ? cols / layout.group_size : 1;
}
// Weights per accumulation group along a row.
inline int64_t accumulation_group_size(const WeightLayout& layout, int64_t cols) {
  return layout.granularity == ScaleGranularity::kGroup ? layout.group_size : cols;
}
// Number of stored α for the whole matrix.
inline int64_t scale_count(const WeightLayout& layout, int64_t rows, int64_t cols) {
  return layout.granularity == ScaleGranularity::kTensor
             ? 1
             : rows * scale_groups_per_row(layout, cols);
}

}  // namespace sherry
