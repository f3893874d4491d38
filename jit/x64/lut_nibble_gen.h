// Kernel family "nibbles and sign masks" (AVX-512 VBMI + VNNI): per step of 4 blocks and 32 rows,
// one 64-byte load of slot nibbles and two 64-bit sign masks give, per 16 rows, an index vector
// (slot + 16·block: byte 4r + j is row r, block j) and a vector of ±1 bytes (the codes' signs).
// vpermb looks the index up in the step's 64-entry tables (4 blocks × 16 sign-0 slots), once per
// byte plane of the exact int16 entries v = lo + 256·(hi' − 2) (lo: u8, hi' = (v >> 8) + 2: u8
// in 0..3). vpdpbusd multiplies each plane by the signs and sums the 4 blocks of a row straight
// into int32: the sign is applied after the lookup, by the dot product. The hi accumulator
// starts at −2·Σ signs of the row's group, so lo + 256·hi is the exact sum. α (fp16) and −Σ
// signs come from a header per row tile and group, a second small stream (x64_kernel.h).
// With int8 tables (TablePrecision::kInt8Lossy) one plane of biased entries e + 128 is looked
// up, its accumulator starts at −128·Σ signs, and the group's sum is scaled by τ.
#pragma once

#include <cstdint>

#include "jit/x64/lut_generator_base.h"

namespace sherry::jit::x64 {

inline constexpr int64_t kNibbleRowsPerPair = 32;
inline constexpr int64_t kNibbleMaxPairs = 4;            // rows per tile up to 128
inline constexpr int64_t kNibbleAccumulatorQuads = 4;    // pairs × tokens (4 registers each)
inline constexpr int64_t kNibblePairBytes = 64 + 8 + 8;  // nibbles, sign mask A, sign mask B

template <class Traits>
class LutNibbleGenerator final : public LutGeneratorBase {
 public:
  using Vmm = typename Traits::Vmm;
  LutNibbleGenerator(const ir::Program& program, const KernelLayout& layout, uint8_t* buffer,
                     size_t capacity);

 private:
  void emit_setup() override;
  void emit_zero_output() override;
  void emit_init_accumulators() override;
  void emit_lookup_accumulate(const ir::LookupAccumulate& lookup) override;
  void emit_widen() override;
  void emit_scale_group() override;
  void emit_store_accumulators() override;
  void emit_finish() override;
  void emit_constants() override;
  bool uses_vex() const override { return true; }

  // Accumulator of token t, row pair p, half h (rows 16h..16h+15), plane (0 lo, 1 hi).
  Vmm acc(int64_t t, int64_t p, int h, int plane) const {
    return Vmm(static_cast<int>(((t * pairs_ + p) * 2 + h) * 2 + plane));
  }
  Vmm index(int h) const { return Vmm(16 + h); }  // of the current pair
  Vmm signs(int h) const { return Vmm(18 + h); }
  Vmm table(int plane) const { return Vmm(20 + plane); }  // GEMV: the step's tables
  Xbyak::Opmask sign_mask(int h) const { return Xbyak::Opmask(1 + h); }
  Xbyak::Address out(const Xbyak::Reg64& base, int64_t t, int64_t p, int h) {
    return ptr[base + static_cast<int>(t * layout_.out_token_bytes + (32 * p + 16 * h) * 4)];
  }
  void combine(int64_t t, int64_t p, int h);  // lo += hi << 8
  void emit_tile_streams() override;
  void emit_group_end() override;
  // The group header's α (fp16) and −Σ signs of rows [32p + 16h, +16).
  Xbyak::Address header_alpha(int64_t p, int h) {
    return ptr[reg_header + static_cast<int>((32 * p + 16 * h) * 2)];
  }
  Xbyak::Address header_sums(int64_t p, int h) {
    return ptr[reg_header +
               static_cast<int>(2 * row_tile() + (32 * p + 16 * h) * layout_.count_bytes)];
  }

  int64_t pairs_;
  bool int8_;  // int8 tables: one biased plane, scaled by τ per group
  Xbyak::Label c0f_, block_offsets_, ones_, minus_ones_;

  const Vmm vmm_c0f = Vmm(31);            // 0x0F in every byte
  const Vmm vmm_block_offsets = Vmm(30);  // byte 4r + j: 16·j
  const Vmm vmm_ones = Vmm(29);           // +1 in every byte: the sign-0 factor
  const Vmm vmm_minus_ones = Vmm(28);     // −1 in every byte: the sign-1 factor
  const Vmm vmm_nibbles = Vmm(27);
  const Vmm vmm_lo = Vmm(26);  // looked-up bytes
  const Vmm vmm_hi = Vmm(25);
  const Vmm vmm_tmp = Vmm(24);
  // The current group's header (in the α array's register: this family reads no α array).
  const Xbyak::Reg64 reg_header = reg_alpha;
};

}  // namespace sherry::jit::x64
