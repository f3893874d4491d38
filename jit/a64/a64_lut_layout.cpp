#include "jit/a64/a64_lut_layout.h"

#include "core/error.h"
#include "ir/tables.h"

namespace sherry::jit::a64 {

std::vector<float> repack_alpha(const PackedTensorView& w, const ir::ProgramShape& shape) {
  std::vector<float> alpha(static_cast<size_t>(shape.tiles() * shape.groups * shape.row_tile));
  size_t i = 0;
  for (int64_t tile = 0; tile < shape.tiles(); ++tile) {
    for (int64_t g = 0; g < shape.groups; ++g) {
      for (int64_t r = 0; r < shape.row_tile; ++r) {
        const int64_t row = tile * shape.row_tile + r;
        alpha[i++] = row < w.rows ? w.scale(row, g) : 0.0f;
      }
    }
  }
  return alpha;
}

NeonLutWeights repack_neon_lut(const PackedTensorView& w, const ir::ProgramShape& shape) {
  SHERRY_CHECK(shape.row_tile % kNeonSubTileRows == 0 && shape.blocks_per_step == kNeonStepBlocks,
               "NEON LUT layout: row tile {} and step of {} blocks", shape.row_tile,
               shape.blocks_per_step);
  const int64_t steps = shape.k_pad / (kWeightsPerBlock * kNeonStepBlocks);
  const int64_t sub_tiles = shape.row_tile / kNeonSubTileRows;
  const int64_t real_blocks = w.cols / kWeightsPerBlock;
  NeonLutWeights out;
  out.codes.assign(static_cast<size_t>(shape.tiles() * steps * sub_tiles * kNeonSubTileStepBytes),
                   0);
  uint8_t* dst = out.codes.data();
  for (int64_t tile = 0; tile < shape.tiles(); ++tile) {
    for (int64_t step = 0; step < steps; ++step) {
      for (int64_t sub = 0; sub < sub_tiles; ++sub) {
        for (int64_t r = 0; r < kNeonSubTileRows; ++r) {
          const int64_t row = tile * shape.row_tile + sub * kNeonSubTileRows + r;
          for (int64_t j = 0; j < kNeonStepBlocks; ++j) {
            const int64_t block = step * kNeonStepBlocks + j;
            if (row >= w.rows || block >= real_blocks) continue;  // code 0
            const uint8_t code = w.code(row, block);
            dst[(j / 2) * 16 + r] |= static_cast<uint8_t>(code_slot(code) << (4 * (j & 1)));
            dst[64 + r] |= static_cast<uint8_t>(code_sign(code) << j);
          }
        }
        dst += kNeonSubTileStepBytes;
      }
    }
  }
  out.alpha = repack_alpha(w, shape);
  return out;
}

void build_folded_tables(const int8_t* permuted, int64_t k_pad, uint8_t* tables) {
  for (int64_t b = 0; b < k_pad / kWeightsPerBlock; ++b) {
    const int8_t* quad = permuted + b * kWeightsPerBlock;
    uint8_t* table = tables + b * kFoldedTableBytes;
    for (int code = 0; code < kCodeCount; ++code) {
      const auto entry = static_cast<uint16_t>(ir::table_entry(quad, static_cast<uint8_t>(code)));
      table[code] = static_cast<uint8_t>(entry & 0xFF);
      table[kCodeCount + code] = static_cast<uint8_t>(entry >> 8);
    }
  }
}

}  // namespace sherry::jit::a64
