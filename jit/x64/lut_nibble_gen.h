// Kernel family "nibbles and sign masks" (AVX-512 VBMI + VNNI): per step of 4 blocks and 32 rows,
// one 64-byte load of slot nibbles and two 64-bit sign masks build two index vectors
// (slot + 16·sign + 32·block: 7 bits), each looked up with vpermi2b in the 128-entry sign-folded
// tables of 4 blocks, once per byte plane of the exact int16 entries. vpdpbusd against a vector
// of ones sums the 4 blocks of each row straight into int32 (the lo plane as u8, the hi plane as
// s8); lo + 256·hi is the exact accumulator, combined and scaled per group.
#pragma once

#include <cstdint>

#include "jit/x64/generator_base.h"

namespace sherry::jit::x64 {

inline constexpr int64_t kNibbleRowsPerPair = 32;
inline constexpr int64_t kNibbleMaxPairs = 3;            // index registers
inline constexpr int64_t kNibbleAccumulatorQuads = 4;    // pairs × tokens (4 registers each)
inline constexpr int64_t kNibblePairBytes = 64 + 8 + 8;  // nibbles, sign mask A, sign mask B

template <class Traits>
class LutNibbleGenerator final : public GeneratorBase {
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
  Vmm index(int64_t p, int h) const { return Vmm(static_cast<int>(16 + 2 * p + h)); }
  Xbyak::Opmask sign_mask(int64_t p, int h) const {
    return Xbyak::Opmask(static_cast<int>(1 + 2 * p + h));
  }
  Xbyak::Address out(const Xbyak::Reg64& base, int64_t t, int64_t p, int h) {
    return ptr[base + static_cast<int>(t * layout_.out_token_bytes + (32 * p + 16 * h) * 4)];
  }
  void combine(int64_t t, int64_t p, int h);  // lo += hi << 8

  int64_t pairs_;
  Xbyak::Label c0f_, block_offsets_, c16_, ones_;

  const Vmm vmm_c0f = Vmm(31);            // 0x0F in every byte
  const Vmm vmm_block_offsets = Vmm(30);  // byte 4r + j: 32·j
  const Vmm vmm_c16 = Vmm(29);            // 16 in every byte: the sign-1 half of a table
  const Vmm vmm_ones = Vmm(28);           // 1 in every byte: vpdpbusd sums 4 bytes
  const Vmm vmm_lo_a = Vmm(27);           // tables of the step: lo plane blocks 0-1, 2-3,
  const Vmm vmm_lo_b = Vmm(26);           // hi plane blocks 0-1, 2-3
  const Vmm vmm_hi_a = Vmm(25);
  const Vmm vmm_hi_b = Vmm(24);
  const Vmm vmm_nibbles = Vmm(23);
  const Vmm vmm_tmp = Vmm(22);
};

}  // namespace sherry::jit::x64
