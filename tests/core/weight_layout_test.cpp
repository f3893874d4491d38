#include "core/weight_layout.h"

#include <set>
#include <string>

#include <doctest/doctest.h>

namespace sherry {
namespace {

std::string layout_error(const WeightLayout& layout, int64_t rows, int64_t cols,
                         std::string_view what = "blk.0.attn_q.weight") {
  const Status status = validate_layout(layout, rows, cols, what);
  REQUIRE_FALSE(status.ok());
  return status.error().message();
}

constexpr WeightLayout kContiguousGroup128{BlockGrouping::kContiguous, ScaleGranularity::kGroup,
                                           128};
constexpr WeightLayout kStride16Group256{BlockGrouping::kStride16, ScaleGranularity::kGroup, 256};

TEST_CASE("layout names round trip and unknown names are rejected") {
  for (const BlockGrouping g : {BlockGrouping::kContiguous, BlockGrouping::kStride16}) {
    const Result<BlockGrouping> parsed = parse_block_grouping(to_string(g));
    REQUIRE(parsed.ok());
    CHECK(parsed.value() == g);
  }
  for (const ScaleGranularity g :
       {ScaleGranularity::kGroup, ScaleGranularity::kChannel, ScaleGranularity::kTensor}) {
    const Result<ScaleGranularity> parsed = parse_scale_granularity(to_string(g));
    REQUIRE(parsed.ok());
    CHECK(parsed.value() == g);
  }
  CHECK(to_string(BlockGrouping::kStride16) == "stride16");
  CHECK(to_string(ScaleGranularity::kChannel) == "channel");
  const Result<BlockGrouping> bad_grouping = parse_block_grouping("stride8");
  REQUIRE_FALSE(bad_grouping.ok());
  CHECK(bad_grouping.error().message() ==
        "unknown block grouping 'stride8': expected contiguous or stride16");
  const Result<ScaleGranularity> bad_granularity = parse_scale_granularity("row");
  REQUIRE_FALSE(bad_granularity.ok());
  CHECK(bad_granularity.error().message() ==
        "unknown scale granularity 'row': expected group, channel or tensor");
}

TEST_CASE("valid layouts pass validation") {
  CHECK(validate_layout(kContiguousGroup128, 3, 256, "m").ok());
  CHECK(validate_layout(kStride16Group256, 1, 512, "m").ok());
  CHECK(validate_layout({BlockGrouping::kContiguous, ScaleGranularity::kChannel, 0}, 2, 12, "m")
            .ok());
  CHECK(
      validate_layout({BlockGrouping::kContiguous, ScaleGranularity::kTensor, -5}, 2, 4, "m").ok());
  CHECK(
      validate_layout({BlockGrouping::kStride16, ScaleGranularity::kChannel, 0}, 2, 64, "m").ok());
  CHECK(
      validate_layout({BlockGrouping::kStride16, ScaleGranularity::kGroup, 64}, 2, 192, "m").ok());
  CHECK(validate_layout({BlockGrouping::kContiguous, ScaleGranularity::kGroup, 4}, 1, 4, "m").ok());
}

TEST_CASE("each layout rule violation has its own message naming object shape and rule") {
  CHECK(layout_error({BlockGrouping::kStride16, ScaleGranularity::kChannel, 0}, 4096, 100) ==
        "blk.0.attn_q.weight (shape 4096 x 100): cols 100 is not a multiple of 64 required by "
        "stride16 block grouping");
  CHECK(layout_error(kContiguousGroup128, 8, 130) ==
        "blk.0.attn_q.weight (shape 8 x 130): cols 130 is not a multiple of 4 required by "
        "contiguous block grouping");
  CHECK(layout_error({BlockGrouping::kContiguous, ScaleGranularity::kGroup, 0}, 8, 128) ==
        "blk.0.attn_q.weight (shape 8 x 128): group_size 0 must be positive for group scale "
        "granularity");
  CHECK(layout_error({BlockGrouping::kContiguous, ScaleGranularity::kGroup, -128}, 8, 128) ==
        "blk.0.attn_q.weight (shape 8 x 128): group_size -128 must be positive for group scale "
        "granularity");
  CHECK(layout_error({BlockGrouping::kContiguous, ScaleGranularity::kGroup, 6}, 8, 12) ==
        "blk.0.attn_q.weight (shape 8 x 12): group_size 6 is not a multiple of 4 required by "
        "contiguous block grouping");
  CHECK(layout_error({BlockGrouping::kStride16, ScaleGranularity::kGroup, 32}, 8, 128) ==
        "blk.0.attn_q.weight (shape 8 x 128): group_size 32 is not a multiple of 64 required by "
        "stride16 block grouping");
  CHECK(layout_error(kContiguousGroup128, 8, 192, "w") ==
        "w (shape 8 x 192): cols 192 is not a multiple of group_size 128");
  CHECK(layout_error(kContiguousGroup128, 0, 128, "w") ==
        "w (shape 0 x 128): rows 0 must be positive");
  CHECK(layout_error(kContiguousGroup128, 4, 0, "w") == "w (shape 4 x 0): cols 0 must be positive");
  CHECK(layout_error(kContiguousGroup128, 4, -128, "w") ==
        "w (shape 4 x -128): cols -128 must be positive");
  WeightLayout bad_enum = kContiguousGroup128;
  bad_enum.grouping = static_cast<BlockGrouping>(7);
  CHECK(layout_error(bad_enum, 4, 128, "w") ==
        "w (shape 4 x 128): block grouping 7 is not one of contiguous or stride16");
  bad_enum = kContiguousGroup128;
  bad_enum.granularity = static_cast<ScaleGranularity>(9);
  CHECK(layout_error(bad_enum, 4, 128, "w") ==
        "w (shape 4 x 128): scale granularity 9 is not one of group, channel or tensor");
}

TEST_CASE("block_weight_column covers each column of a row exactly once") {
  for (const BlockGrouping grouping : {BlockGrouping::kContiguous, BlockGrouping::kStride16}) {
    const int64_t cols = 192;
    std::set<int64_t> seen;
    for (int64_t b = 0; b < cols / 4; ++b) {
      for (int p = 0; p < 4; ++p) {
        const int64_t col = block_weight_column(grouping, b, p);
        CHECK(col >= 0);
        CHECK(col < cols);
        // A block never straddles a 64-weight chunk, so groups of whole chunks hold whole blocks.
        CHECK(col / 64 == (4 * b) / 64);
        seen.insert(col);
      }
    }
    CHECK(seen.size() == cols);
  }
  CHECK(block_weight_column(BlockGrouping::kStride16, 0, 3) == 48);
  CHECK(block_weight_column(BlockGrouping::kStride16, 17, 2) == 64 + 1 + 32);
  CHECK(block_weight_column(BlockGrouping::kContiguous, 5, 1) == 21);
}

TEST_CASE("scale counts follow the granularity") {
  CHECK(scale_count(kContiguousGroup128, 3, 512) == 12);
  CHECK(scale_groups_per_row(kContiguousGroup128, 512) == 4);
  CHECK(accumulation_group_size(kContiguousGroup128, 512) == 128);
  const WeightLayout channel{BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128};
  CHECK(scale_count(channel, 3, 512) == 3);
  CHECK(accumulation_group_size(channel, 512) == 512);
  const WeightLayout tensor{BlockGrouping::kStride16, ScaleGranularity::kTensor, 128};
  CHECK(scale_count(tensor, 3, 512) == 1);
  CHECK(scale_groups_per_row(tensor, 512) == 1);
}

}  // namespace
}  // namespace sherry
