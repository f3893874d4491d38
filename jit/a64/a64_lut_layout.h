// Data layouts of the NEON tbl kernels (jit/a64/a64_lut_gen.h).
//
// Weights, per tile of row_tile rows, per step of 8 blocks (storage order), per 16-row sub-tile:
// 80 bytes = 1.25 bits per weight:
//   4 × 16 bytes  nibble vectors: byte r of vector i = slot(row r, block 2i) | slot(block 2i+1) <<
//   4 16 bytes      sign vector:    bit j of byte r = sign(row r, block j)
// so one 16-byte register feeds one tbl for 16 rows. Padding rows and blocks hold code 0.
// α is converted to fp32 once, per tile, per group, row_tile values (padding rows 0).
//
// Tables (sign folded), per token, per block of the permuted activations: 64 bytes, the 32
// int16 entries T[code] split into a low-byte plane (32 bytes) and a high-byte plane (32 bytes):
// tbl with a two-register table looks up a 5-bit code directly.
#pragma once

#include <cstdint>
#include <vector>

#include "core/packed_tensor.h"
#include "ir/program.h"

namespace sherry::jit::a64 {

inline constexpr int64_t kNeonSubTileRows = 16;  // one tbl index vector
inline constexpr int64_t kNeonStepBlocks = 8;    // one sign byte per row
inline constexpr int64_t kNeonSubTileStepBytes = 80;
inline constexpr int64_t kFoldedTableBytes = 64;  // per block

struct NeonLutWeights {
  std::vector<uint8_t> codes;  // tiles × steps × sub-tiles × 80 bytes
  std::vector<float> alpha;    // tiles × groups × row_tile
};

// `shape` is the lowered program's (row_tile a multiple of 16, 8 blocks per step).
NeonLutWeights repack_neon_lut(const PackedTensorView& w, const ir::ProgramShape& shape);

// Tables of one token from its block-order activations (ir::permute_to_block_order), k_pad of
// them: k_pad / 4 × 64 bytes.
void build_folded_tables(const int8_t* permuted, int64_t k_pad, uint8_t* tables);

// fp32 α per tile and group, [tile][group][row_tile], shared by every AArch64 layout.
std::vector<float> repack_alpha(const PackedTensorView& w, const ir::ProgramShape& shape);

}  // namespace sherry::jit::a64
