#include "core/packed_tensor.h"

namespace sherry {

PackedTensor PackedTensor::allocate(int64_t rows, int64_t cols, const WeightLayout& layout) {
  const Status valid = validate_layout(layout, rows, cols, "PackedTensor::allocate");
  SHERRY_CHECK(valid.ok(), "{}", valid.error().message());
  PackedTensor tensor;
  tensor.rows = rows;
  tensor.cols = cols;
  tensor.layout = layout;
  tensor.codes.assign(static_cast<size_t>(rows * packed_row_bytes(cols)), 0);
  tensor.scales.assign(static_cast<size_t>(scale_count(layout, rows, cols)), 0);
  return tensor;
}

void PackedTensor::set_code(int64_t row, int64_t block, uint8_t code) {
  SHERRY_CHECK(row >= 0 && row < rows, "row {} outside [0, {})", row, rows);
  SHERRY_CHECK(block >= 0 && block < cols / kWeightsPerBlock, "block {} outside [0, {})", block,
               cols / kWeightsPerBlock);
  SHERRY_CHECK(code < kCodeCount, "code {} is not a 5-bit value", code);
  uint8_t* chunk =
      codes.data() + row * packed_row_bytes(cols) + (block / kChunkBlocks) * kChunkBytes;
  const int64_t j = block % kChunkBlocks;
  const int shift = 4 * static_cast<int>(j & 1);
  uint8_t& slots = chunk[j / 2];
  slots = static_cast<uint8_t>((slots & ~(0x0F << shift)) | (code_slot(code) << shift));
  const int bit = static_cast<int>(j);
  chunk[4] = static_cast<uint8_t>((chunk[4] & ~(1 << bit)) | (code_sign(code) << bit));
}

bool rows_stackable(std::span<const PackedTensorView> parts) {
  if (parts.empty() || parts.front().layout.granularity == ScaleGranularity::kTensor) return false;
  for (const PackedTensorView& p : parts) {
    if (!(p.layout == parts.front().layout) || p.cols != parts.front().cols) return false;
  }
  return true;
}

}  // namespace sherry
