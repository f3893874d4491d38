#include "core/weight_layout.h"

namespace sherry {
namespace {

// Block columns must stay inside one 64-weight chunk for stride16, inside 4 weights otherwise.
int64_t grouping_multiple(BlockGrouping grouping) {
  return grouping == BlockGrouping::kStride16 ? 64 : 4;
}

}  // namespace

std::string_view to_string(BlockGrouping grouping) {
  switch (grouping) {
    case BlockGrouping::kContiguous:
      return "contiguous";
    case BlockGrouping::kStride16:
      return "stride16";
  }
  return "unknown";
}

std::string_view to_string(ScaleGranularity granularity) {
  switch (granularity) {
    case ScaleGranularity::kGroup:
      return "group";
    case ScaleGranularity::kChannel:
      return "channel";
    case ScaleGranularity::kTensor:
      return "tensor";
  }
  return "unknown";
}

Result<BlockGrouping> parse_block_grouping(std::string_view text) {
  if (text == "contiguous") return BlockGrouping::kContiguous;
  if (text == "stride16") return BlockGrouping::kStride16;
  return make_error("unknown block grouping '{}': expected contiguous or stride16", text);
}

Result<ScaleGranularity> parse_scale_granularity(std::string_view text) {
  if (text == "group") return ScaleGranularity::kGroup;
  if (text == "channel") return ScaleGranularity::kChannel;
  if (text == "tensor") return ScaleGranularity::kTensor;
  return make_error("unknown scale granularity '{}': expected group, channel or tensor", text);
}

Status validate_layout(const WeightLayout& layout, int64_t rows, int64_t cols,
                       std::string_view what) {
  // Formatted only on the error path: the trainer validates inside its step loop.
  const auto object = [&] { return fmt::format("{} (shape {} x {})", what, rows, cols); };
  if (layout.grouping != BlockGrouping::kContiguous &&
      layout.grouping != BlockGrouping::kStride16) {
    return make_error("{}: block grouping {} is not one of contiguous or stride16", object(),
                      static_cast<int>(layout.grouping));
  }
  if (layout.granularity != ScaleGranularity::kGroup &&
      layout.granularity != ScaleGranularity::kChannel &&
      layout.granularity != ScaleGranularity::kTensor) {
    return make_error("{}: scale granularity {} is not one of group, channel or tensor", object(),
                      static_cast<int>(layout.granularity));
  }
  if (rows <= 0) return make_error("{}: rows {} must be positive", object(), rows);
  if (cols <= 0) return make_error("{}: cols {} must be positive", object(), cols);
  const int64_t multiple = grouping_multiple(layout.grouping);
  const std::string_view grouping = to_string(layout.grouping);
  if (cols % multiple != 0) {
    return make_error("{}: cols {} is not a multiple of {} required by {} block grouping", object(),
                      cols, multiple, grouping);
  }
  if (layout.granularity != ScaleGranularity::kGroup) return Status::success();
  const int64_t group = layout.group_size;
  if (group <= 0) {
    return make_error("{}: group_size {} must be positive for group scale granularity", object(),
                      group);
  }
  if (group % multiple != 0) {
    return make_error("{}: group_size {} is not a multiple of {} required by {} block grouping",
                      object(), group, multiple, grouping);
  }
  if (cols % group != 0) {
    return make_error("{}: cols {} is not a multiple of group_size {}", object(), cols, group);
  }
  return Status::success();
}

}  // namespace sherry
