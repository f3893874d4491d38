// Kernel family "dot GEMM": the prefill GEMM for many tokens, on AVX-512 VBMI + VNNI (zmm, EVEX
// vpdpbusd) and on AVX2 + AVX-VNNI (ymm, VEX vpdpbusd). Per row tile, block of rows and K block,
// the layer's 1.25-bit codes are decoded once into a panel of int8 weights w = t + 1 ∈ {0, 1, 2};
// then every block of token_block tokens runs over the panel with vpdpbusd (u8 weights × s8
// activations), the activations broadcast 4 at a time. Each group's int32 accumulator starts at
// −Σ of the token's activations over the group, which removes the +1 of the unsigned weights:
// the sums are exact (ir/program.h). Per group the accumulators are scaled by α (fp16, from the
// layer's weight stream) into the float output; the token scale is applied once at the end. The
// token count is an argument of the call (1 .. n_tile): full token blocks, then one tail kernel.
//
// Decode, per format:
//  kNibblesSignMasks (avx512vbmi): per step and 32 rows, 64 bytes of slot nibbles and two sign
//    masks; the code of (row, block) is the nibble with the sign at bit 4, vpshufb spreads it over
//    its block's 4 bytes, a lane offset adds 32·p, vpermi2b maps (lane, code) to w. Decode blocks
//    are the register blocks (32 or 64 rows).
//  kNibblePlanes (avx2vnni): per step, code vector and 32 rows, the slots from a nibble and the
//    signs from a bit plane; vpshufb looks each lane p's sign-0 value up, vpsignb applies the sign,
//    +1; two rounds of in-lane unpacks give 8 rows × 4 columns per vector (the planes' row order
//    makes them consecutive rows). Decode blocks are 32 rows, register blocks 16.
#pragma once

#include <cstdint>

#include "jit/x64/generator_base.h"

namespace sherry::jit::x64 {

// Rows per register block of a row tile on a dot path (64 when the tile is whole blocks of 64
// on avx512vbmi; 16 on avx2vnni), and the most tokens per block whose int32 accumulators fit
// the registers.
int64_t dot_block_rows(ir::Isa isa, int64_t row_tile);
int64_t dot_max_token_block(ir::Isa isa, int64_t block_rows);
// Rows decoded into the panel at a time: the register block, or 32 on avx2vnni (a code vector).
int64_t dot_decode_rows(ir::Isa isa, int64_t row_tile);

template <class Traits>
class DotGemmGenerator final : public GeneratorBase {
 public:
  using Vmm = typename Traits::Vmm;
  DotGemmGenerator(const ir::Program& program, const KernelLayout& layout, uint8_t* buffer,
                   size_t capacity);

 private:
  static constexpr bool kEvex = Traits::kHasAvx512;
  static constexpr int kVectorRows = Traits::kVectorBytes / 4;  // int32 lanes: rows per vector
  static constexpr int kAccumulators = kEvex ? 24 : 12;         // registers for accumulators
  static constexpr int kMaxVectors = kEvex ? 4 : 2;             // per register block
  static constexpr int kDecodeRows = kEvex ? 0 : 32;            // 0: the register block's

  void emit_setup() override {}
  void emit_body() override;
  void emit_subroutines() override;  // the token-block kernels
  void emit_constants() override;
  int64_t scratch_bytes() const override { return kStateBytes; }
  bool uses_vex() const override { return true; }

  void emit_tile_pointers();                  // the tile's weights, α and output
  void emit_decode_block(int64_t first_row);  // all K blocks and tokens of a decode block
  void emit_decode(int64_t first_row);        // one K block of it into the panel
  void emit_decode_sign_masks(int64_t first_row);
  void emit_decode_planes(int64_t first_row);
  void emit_token_blocks(int64_t panel_vector);  // every token over part of the panel
  void emit_zero_output(int64_t first_row, int64_t rows);
  void emit_finish(int64_t first_row, int64_t rows);
  void emit_token_kernel(int64_t tokens);  // subroutine: `tokens` tokens × the panel's groups

  int64_t decode_rows() const { return kDecodeRows > 0 ? kDecodeRows : layout_.block_rows; }
  int64_t vectors() const { return layout_.block_rows / kVectorRows; }   // per register block
  int64_t panel_vectors() const { return decode_rows() / kVectorRows; }  // per block of 4 cols
  int64_t steps_per_group() const { return program_.shape.steps_per_group(); }
  int64_t panel_step_bytes() const { return 4 * panel_vectors() * Traits::kVectorBytes; }
  // Where α of a group sits: the header stream (sign masks) or the group's record (planes).
  int64_t alpha_group_stride() const {
    return kEvex ? layout_.header_bytes : layout_.group_weight_bytes;
  }

  // Accumulator of row vector v and token t of a block.
  Vmm acc(int64_t v, int64_t t) const { return Vmm(static_cast<int>(t * vectors() + v)); }
  Vmm weight(int64_t v) const { return Vmm(static_cast<int>(kAccumulators + v)); }
  Vmm broadcast(int64_t t) const {
    return Vmm(static_cast<int>(kAccumulators + kMaxVectors + t % 2));
  }
  // Epilogue registers: free then (the AVX2 plan reuses the weight registers).
  Vmm alpha() const { return Vmm(kEvex ? 30 : kAccumulators); }
  Vmm tmp() const { return Vmm(kEvex ? 31 : kAccumulators + 1); }
  void dot(const Vmm& acc, const Vmm& w, const Vmm& x);  // acc += w (u8) · x (s8), 4 per lane
  void load(const Vmm& dst, const Xbyak::Address& src);
  void store(const Xbyak::Address& dst, const Vmm& src);

  // Loop state kept in the stack scratch (8 bytes each).
  enum Slot : int {
    kTile,
    kTileEnd,
    kWeightsTile,  // the tile's weight stream
    kAlphaTile,    // the tile's α of group 0, row 0 (header stream or first record)
    kOutTile,      // the tile's first output row of token 0
    kKBlocksLeft,
    kWeightsK,  // the K block's first weights (step or record) of the tile
    kAlphaK,    // α of the K block's first group, first row of the decode block
    kRecordsK,  // token 0's activations at the K block
    kSumsK,     // token 0's −Σ of the K block's first group
    kOutK,      // output of token 0 for the decode block (and K block, accumulator output)
    kTokensLeft,
    kPanel,  // this thread's workspace
    kSlotCount
  };
  static constexpr int64_t kStateBytes = kSlotCount * 8;
  Xbyak::Address state(Slot slot) { return qword[reg_scratch + 8 * slot]; }

  Xbyak::Label token_kernels_[25];
  Xbyak::Label decode_tables_, low_nibbles_, sign_bit_, spread_[4], lane_offsets_, ones_, bits_;

  // General registers by role. Token kernels read their inputs from the first five and keep
  // them; the rest they clobber.
  const Xbyak::Reg64 reg_records = r9;  // in: token 0's activations at the current step
  const Xbyak::Reg64 reg_sums = rdx;    // in: token 0's −Σ of the current group
  const Xbyak::Reg64 reg_alpha = r10;   // in: the current group's α, rows of the block
  const Xbyak::Reg64 reg_panel = r11;   // in: the panel at the block's first vector
  const Xbyak::Reg64 reg_out = r12;     // in: output of token 0, rows of the block
  const Xbyak::Reg64 reg_weights = r8;  // decode: the weight stream
  const Xbyak::Reg64 reg_cursor = r8;   // token kernels: the panel at the current step
  const Xbyak::Reg64 reg_x = rax;       // token kernels: activations at the current step
  const Xbyak::Reg64 reg_group_sums = r14;
  const Xbyak::Reg64 reg_group_alpha = r13;
  const Xbyak::Reg64 reg_group_out = r15;
  const Xbyak::Reg64 reg_group = rbx;
  const Xbyak::Reg64 reg_step = rcx;
  const Xbyak::Reg64 reg_tmp = rax;
};

}  // namespace sherry::jit::x64
