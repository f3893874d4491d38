// An x86-64 kernel: the argument block its code reads, the layout of its weights and tables,
// and the mapped code (built by jit/x64/x64_backend.h, run through it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "ir/kernel_key.h"
#include "jit/code_memory.h"
#include "jit/kernel.h"
#include "jit/paths.h"

namespace sherry::jit::x64 {

// The one argument of every generated kernel (read by the code with offsetof).
struct KernelArgs {
  const uint8_t* weights;  // repacked weight stream, tile-major (weight_repack.h)
  // kCodeBytes only (null for the other formats):
  const float* alpha;      // α per [tile][group][row of tile], 0 for padding rows
  const int32_t* nneg;     // negative blocks per [tile][group][row] (weight_repack.h)
  const uint8_t* headers;  // kNibblesSignMasks: header_bytes per [tile][group] (below)
  // The call's prepared activations, table_bytes apart per token: lookup kernels' tables
  // (table_builder.h) or the dot kernels' token records (dot_records.h).
  const uint8_t* tables;
  const float* scales;  // one activation scale per token
  void* out;            // float [token][m_pad], or int32 [token][group][m_pad]
  int64_t tile_begin;   // row tiles [tile_begin, tile_end) of this call
  int64_t tile_end;
  // Dot kernels: the call's tokens (1 .. n_tile), and the calling thread's workspace
  // (KernelLayout::panel_bytes: the decoded weights of one row block and K block).
  int64_t tokens;
  uint8_t* workspace;
};
static_assert(std::is_standard_layout_v<KernelArgs>);
using KernelFn = void (*)(const KernelArgs*);

// How the weights and tables of a kernel family are laid out (the formats: jit/paths.h).
//  kCodeBytes: one byte per (row, block); rows of a vector are ordered for the in-lane unpacks.
//  kNibblePlanes: per row tile, one 64-byte aligned record per group:
//    header  α of each row as fp16, then each row's negative-block count as u8 (u16 when a
//            group has more than 255 blocks), padded to 64 bytes;
//    steps   per step of 4 blocks, code vector c = j·G + g (block j, row vector g of G): the
//            slots of c in the low (c even) or high (c odd) nibbles of nibble vector c/2, then
//            its signs in bit c % 8 of sign vector c/8; lanes in kCodeBytes's row order.
//  Nothing else is read per group; the tables are kCodeBytes's.
//  kNibblesSignMasks: weights per step of 4 blocks and 32 rows: 64 bytes of slot nibbles (rows
//    0-15 low, 16-31 high; byte 4r + j is row r, block j), then two 64-bit sign masks (rows
//    0-15, 16-31). Beside them a header stream, per row tile and group: α of each row as fp16,
//    then each row's −Σ signs over the group's blocks as int8 (int16 when a group has more
//    than 127 blocks), padded to 64 bytes. (Headers inside the weight stream, as the planes
//    have them, ran at 0.63-1.0x on Zen 4 at one thread: docs/jit.md, "Weight streams".)
//  64-entry tables per step (4 blocks x 16 sign-0 slots) as a lo byte plane and a biased hi
//  plane (hi + 2), or, with int8 tables, one plane of requantized entries per step and τ (fp32)
//  after each group.
//  Dot kernels (KernelOp::kDotGemm) read kNibblesSignMasks weights and headers as the lookup
//  kernels of the layer do. Per token a record of table_bytes: the k_pad activations in block
//  order (int8), then −Σ of each group's activations (int32), padded to 64. Per thread a
//  panel (workspace) of block_rows × k_block_groups · group weights: the decoded weights
//  t + 1 (u8) per block of 4 columns and 16 rows, 64 bytes each: [step][block][row vector].
struct KernelLayout {
  WeightFormat format = WeightFormat::kCodeBytes;
  ir::TablePrecision table = ir::TablePrecision::kInt16Exact;
  int64_t vector_bytes = 16;  // kCodeBytes: rows per vector of codes
  int64_t row_tile = 0;
  int64_t m_pad = 0, k_pad = 0;
  int64_t groups = 0;
  int64_t tiles = 0;
  int64_t tile_weight_bytes = 0;  // repacked bytes per row tile
  int64_t step_weight_bytes = 0;  // per tile per step
  // kNibblePlanes and kNibblesSignMasks (see above), in bytes:
  int64_t group_weight_bytes = 0;  // kNibblePlanes: a group's record, a multiple of 64
  int64_t header_bytes = 0;        // a group's α and counts, padded to 64
  int64_t count_bytes = 0;         // one row's count (planes) or −Σ signs (sign masks): 1 or 2
  int64_t step_sign_offset = 0;    // kNibblePlanes: the sign vectors within a step
  int64_t step_table_bytes = 0;    // per token per step
  int64_t group_tail_bytes = 0;    // per token after each group's steps (int8 tables: τ)
  int64_t table_bytes = 0;         // per token
  int64_t out_token_bytes = 0;     // out stride between tokens
  // Dot kernels (see above):
  int64_t block_rows = 0;      // rows per register block: 32 or 64
  int64_t token_block = 0;     // tokens per register block
  int64_t k_block_groups = 0;  // scale groups per panel
  int64_t panel_bytes = 0;     // one thread's workspace
};

struct X64Kernel final : Kernel {
  KernelLayout layout;
  CodeMemory code;
  KernelFn fn = nullptr;

  void run(const KernelArgs& args) const { fn(&args); }
  std::span<const uint8_t> code_bytes() const override { return {code.data(), code.size()}; }
  const void* code_address() const override { return code.data(); }
};

// The x86-64 kernel behind a Kernel built by this backend (an internal check).
const X64Kernel& as_x64(const Kernel& kernel);

}  // namespace sherry::jit::x64
