// Kernel family "dot GEMM" (AVX-512 VBMI + VNNI): the prefill GEMM for many tokens. Per row
// tile, block of rows (32 or 64) and K block, the 1.25-bit codes of kNibblesSignMasks are
// decoded once into a panel of int8 weights w = t + 1 ∈ {0, 1, 2} (vpshufb spreads each code
// over its block's 4 bytes, vpermi2b maps code and lane to the weight); then every block of
// token_block tokens runs over the panel with vpdpbusd (u8 weights × s8 activations, 64
// multiply-adds per instruction), the activations broadcast 4 at a time. Each group's int32
// accumulator starts at −Σ of the token's activations over the group, which removes the +1 of
// the unsigned weights: the sums are exact (ir/program.h). Per group the accumulators are
// scaled by α (fp16, from the layer's header stream) into the float output; the token scale is
// applied once at the end. The token count is an argument of the call (1 .. n_tile): full
// token blocks, then one of the tail kernels for the rest.
#pragma once

#include <cstdint>

#include "jit/x64/generator_base.h"

namespace sherry::jit::x64 {

inline constexpr int64_t kDotBlockVectorsMax = 4;  // 64 rows per register block
inline constexpr int64_t kDotAccumulators = 24;    // registers for int32 accumulators

// Rows per register block for a row tile (64 when the tile is whole blocks of 64).
constexpr int64_t dot_block_rows(int64_t row_tile) {
  return row_tile % 64 == 0 ? 64 : 32;
}
// Most tokens per block whose accumulators fit the registers.
constexpr int64_t dot_max_token_block(int64_t block_rows) {
  return kDotAccumulators / (block_rows / 16);
}

template <class Traits>
class DotGemmGenerator final : public GeneratorBase {
 public:
  using Vmm = typename Traits::Vmm;
  DotGemmGenerator(const ir::Program& program, const KernelLayout& layout, uint8_t* buffer,
                   size_t capacity);

 private:
  void emit_setup() override {}
  void emit_body() override;
  void emit_subroutines() override;  // the token-block kernels
  void emit_constants() override;
  int64_t scratch_bytes() const override { return kStateBytes; }
  bool uses_vex() const override { return true; }

  void emit_tile_pointers();              // the tile's weights, headers and output
  void emit_row_block(int64_t block);     // all K blocks and tokens of one block of rows
  void emit_decode(int64_t block);        // one K block of it into the panel
  void emit_token_blocks(int64_t block);  // every token over the panel
  void emit_zero_output(int64_t block);
  void emit_finish(int64_t block);
  void emit_token_kernel(int64_t tokens);  // subroutine: `tokens` tokens × the panel's groups

  int64_t vectors() const { return layout_.block_rows / 16; }  // row vectors per block
  int64_t pairs() const { return layout_.block_rows / 32; }
  int64_t steps_per_group() const { return program_.shape.steps_per_group(); }
  int64_t panel_step_bytes() const { return 4 * vectors() * 64; }

  // Accumulator of row vector v and token t of a block.
  Vmm acc(int64_t v, int64_t t) const { return Vmm(static_cast<int>(t * vectors() + v)); }
  Vmm weight(int64_t v) const { return Vmm(static_cast<int>(24 + v)); }
  Vmm broadcast(int64_t t) const { return Vmm(static_cast<int>(28 + t % 2)); }

  // Loop state kept in the stack scratch (8 bytes each).
  enum Slot : int {
    kTile,
    kTileEnd,
    kWeightsTile,  // the tile's weight stream
    kHeadersTile,  // the tile's first group header
    kOutTile,      // the tile's first output row of token 0
    kKBlocksLeft,
    kWeightsK,  // the K block's first step of the tile
    kHeadersK,  // the K block's first group header
    kRecordsK,  // token 0's activations at the K block
    kSumsK,     // token 0's −Σ of the K block's first group
    kOutK,      // output of token 0 for the block of rows (and K block, accumulator output)
    kTokensLeft,
    kSlotCount
  };
  static constexpr int64_t kStateBytes = kSlotCount * 8;
  Xbyak::Address state(Slot slot) { return qword[reg_scratch + 8 * slot]; }

  Xbyak::Label token_kernels_[kDotAccumulators + 1];
  Xbyak::Label decode_tables_, low_nibbles_, sign_bit_, spread_[4], lane_offsets_;

  // General registers by role. Token kernels read their inputs from the first five and keep
  // them; the rest they clobber.
  const Xbyak::Reg64 reg_records = r9;   // in: token 0's activations at the current step
  const Xbyak::Reg64 reg_sums = rdx;     // in: token 0's −Σ of the current group
  const Xbyak::Reg64 reg_headers = r10;  // in: the current group's header, rows of the block
  const Xbyak::Reg64 reg_panel = r11;    // in: the panel (this thread's workspace)
  const Xbyak::Reg64 reg_out = r12;      // in: output of token 0, rows of the block
  const Xbyak::Reg64 reg_weights = r8;   // decode: the weight stream
  const Xbyak::Reg64 reg_cursor = r8;    // token kernels: the panel at the current step
  const Xbyak::Reg64 reg_x = rax;        // token kernels: activations at the current step
  const Xbyak::Reg64 reg_group_sums = r14;
  const Xbyak::Reg64 reg_group_header = r13;
  const Xbyak::Reg64 reg_group_out = r15;
  const Xbyak::Reg64 reg_group = rbx;
  const Xbyak::Reg64 reg_step = rcx;
  const Xbyak::Reg64 reg_tmp = rax;

  // Decode registers (the token kernels' accumulators are free then).
  const Vmm vmm_table_a = Vmm(0);  // w of codes for lanes 0 and 1
  const Vmm vmm_table_b = Vmm(1);  // lanes 2 and 3
  const Vmm vmm_low_nibbles = Vmm(2);
  const Vmm vmm_sign_bit = Vmm(3);  // 0x10: the code's sign above its 4-bit slot
  const Vmm vmm_lane_offsets = Vmm(4);
  Vmm spread(int j) const { return Vmm(5 + j); }  // byte 4r + p ← byte 4r + j of the codes
  const Vmm vmm_nibbles = Vmm(9);
  Vmm codes(int h) const { return Vmm(10 + h); }
  const Vmm vmm_index = Vmm(12);
  Xbyak::Opmask sign_mask(int h) const { return Xbyak::Opmask(1 + h); }
  const Vmm vmm_alpha = Vmm(30);
  const Vmm vmm_tmp = Vmm(31);
};

}  // namespace sherry::jit::x64
