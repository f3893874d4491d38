#include "core/stq1_0.h"

#include <cmath>

namespace sherry {
namespace {

constexpr int64_t kStq1_0Groups = kStq1_0BlockWeights / kWeightsPerBlock;  // 64

Status check_stq1_0_shape(int64_t rows, int64_t cols, std::string_view what) {
  if (rows <= 0 || cols <= 0 || cols % kStq1_0BlockWeights != 0) {
    return make_error(
        "{} (shape {} x {}): STQ1_0 needs a positive row count and cols a multiple of 256, found "
        "rows {} and cols {}",
        what, rows, cols, rows, cols);
  }
  return Status::success();
}

}  // namespace

Result<std::vector<Stq1_0Block>> pack_stq1_0(const PackedTensorView& w, std::string_view what) {
  SHERRY_TRY(check_stq1_0_shape(w.rows, w.cols, what));
  if (!(w.layout == stq1_0_layout(w.layout.grouping))) {
    const std::string group = w.layout.granularity == ScaleGranularity::kGroup
                                  ? fmt::format(" group_size {}", w.layout.group_size)
                                  : std::string();
    return make_error(
        "{}: layout {} block grouping with {} scales{} cannot be written as STQ1_0: expected "
        "group scales of group_size 256",
        what, to_string(w.layout.grouping), to_string(w.layout.granularity), group);
  }
  const int64_t per_row = w.cols / kStq1_0BlockWeights;
  std::vector<Stq1_0Block> blocks(static_cast<size_t>(w.rows * per_row));
  for (int64_t m = 0; m < w.rows; ++m) {
    for (int64_t i = 0; i < per_row; ++i) {
      Stq1_0Block& out = blocks[m * per_row + i];
      out = Stq1_0Block{};
      for (int64_t g = 0; g < kStq1_0Groups; ++g) {
        // Group g of STQ1_0 block i is block 64·i + g of the row in storage order.
        const uint8_t code = w.code(m, kStq1_0Groups * i + g);
        out.qs[g / 2] |= static_cast<uint8_t>(code_slot(code) << (4 * (g & 1)));
        out.sign[g / 8] |= static_cast<uint8_t>(code_sign(code) << (g % 8));
      }
      out.d = w.scales[m * per_row + i];
    }
  }
  return blocks;
}

Result<PackedTensor> unpack_stq1_0(const Stq1_0Block* blocks, int64_t rows, int64_t cols,
                                   std::string_view what, BlockGrouping grouping) {
  SHERRY_TRY(check_stq1_0_shape(rows, cols, what));
  const int64_t per_row = cols / kStq1_0BlockWeights;
  PackedTensor packed = PackedTensor::allocate(rows, cols, stq1_0_layout(grouping));
  for (int64_t m = 0; m < rows; ++m) {
    for (int64_t i = 0; i < per_row; ++i) {
      const Stq1_0Block& in = blocks[m * per_row + i];
      const float d = fp16_to_float(in.d);
      if (!std::isfinite(d)) {
        return make_error(
            "{}: STQ1_0 block {} of row {} has scale d = {} (fp16 bits 0x{:04x}): "
            "expected a finite value",
            what, i, m, d, in.d);
      }
      for (int64_t g = 0; g < kStq1_0Groups; ++g) {
        const auto slot = static_cast<uint8_t>((in.qs[g / 2] >> (4 * (g & 1))) & 0x0F);
        const auto sign = static_cast<uint8_t>((in.sign[g / 8] >> (g % 8)) & 1);
        packed.set_code(m, kStq1_0Groups * i + g, make_code(sign, slot));
      }
      packed.scales[m * per_row + i] = in.d;
    }
  }
  return packed;
}

}  // namespace sherry
