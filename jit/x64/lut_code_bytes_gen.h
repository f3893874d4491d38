// Kernel family "code bytes" (SSSE3, AVX2, AVX-512BW): one byte per (row, block) holding the 5-bit
// code, 16-entry tables per block as lo/hi byte planes looked up with (v)pshufb, the sign applied
// after the lookup as an xor with the sign mask (-v = ~v + 1: the +1s, one per negative block,
// are precomputed per row and group and preload the int32 accumulators), int16 accumulation
// widened to int32 in stack scratch before it can overflow, fp32 scaling per group.
// With WeightFormat::kNibblePlanes (AVX2, AVX-512BW) the same kernel reads 1.25-bit weights: each
// code vector's slots come from one nibble of a vector of nibbles, its sign mask from one bit of a
// vector of sign bytes (AVX2: and + compare with that bit, applied as an xor; AVX-512BW: vptestmb
// into a byte mask, applied as a masked −1 − v), and α and the counts from the group's record in
// the same stream (x64_kernel.h).
#pragma once

#include <cstdint>

#include "jit/x64/lut_generator_base.h"

namespace sherry::jit::x64 {

// Vector registers left for int16 accumulators (two per token and row vector).
template <class Traits>
constexpr int64_t code_bytes_accumulator_budget() {
  return Traits::kVectorRegisters - 8;
}

template <class Traits>
class LutCodeBytesGenerator final : public LutGeneratorBase {
 public:
  using Vmm = typename Traits::Vmm;
  LutCodeBytesGenerator(const ir::Program& program, const KernelLayout& layout, uint8_t* buffer,
                        size_t capacity);

 private:
  static constexpr int kW = Traits::kVectorBytes;

  void emit_setup() override;
  void emit_zero_output() override;
  void emit_init_accumulators() override;
  void emit_lookup_accumulate(const ir::LookupAccumulate& lookup) override;
  void emit_widen() override;
  void emit_scale_group() override;
  void emit_store_accumulators() override;
  void emit_finish() override;
  void emit_constants() override;
  void emit_tile_streams() override;
  void emit_group_begin() override;
  void emit_group_end() override;
  int64_t scratch_bytes() const override { return tokens() * row_groups_ * 4 * kW; }
  bool uses_vex() const override { return Traits::kHasAvx; }

  // Instruction forms that differ between SSE, VEX and EVEX.
  void load(const Vmm& dst, const Xbyak::Address& src);
  void store(const Xbyak::Address& dst, const Vmm& src);
  void xor_into(const Vmm& dst, const Vmm& a, const Vmm& b);  // dst = a ^ b (dst == a for SSE)

  Vmm acc(int64_t token, int64_t group, int half) const {
    return Vmm(static_cast<int>((token * row_groups_ + group) * 2 + half));
  }
  Xbyak::Address scratch(int64_t token, int64_t group, int v) {
    return ptr[reg_scratch + static_cast<int>(((token * row_groups_ + group) * 4 + v) * kW)];
  }
  // Offset of rows [group·W + v·W/4, +W/4) of the tile in a float/int32 row array.
  static int row_offset(int64_t group, int v) { return static_cast<int>(group * 4 * kW + v * kW); }
  // Token t's tables of block j of the current step into vmm_table_lo/hi (AVX paths).
  void broadcast_tables(int64_t t, int j);
  // Looks vmm_codes up in token t's tables, applies vmm_sign, adds into row vector g.
  void lookup_accumulate(int64_t t, int j, int64_t g);
  int table_offset(int64_t t, int j) const {
    return static_cast<int>(t * layout_.table_bytes + j * 32);
  }
  // The codes (slots for pshufb) and sign mask of block j, row vector g of the current step into
  // vmm_codes and vmm_sign: from code bytes, or (kNibblePlanes) from a nibble and a sign bit.
  void load_byte_codes(int j, int64_t g);
  void load_plane_codes(int j, int64_t g);
  // The record's α (fp16) and negative-block counts of those rows.
  Xbyak::Address record_alpha(int64_t group, int v) {
    return ptr[reg_record + row_offset(group, v) / 2];
  }
  Xbyak::Address record_counts(int64_t group, int v) {
    return ptr[reg_record +
               static_cast<int>(2 * row_tile() + row_offset(group, v) / 4 * layout_.count_bytes)];
  }

  // AVX-512 planes apply the signs as a byte mask (k_sign) with vmm_sign holding −1.
  bool avx512_planes() const { return Traits::kHasAvx512 && planes_; }

  int64_t row_groups_;  // row vectors per tile
  bool planes_;         // kNibblePlanes
  Xbyak::Label constants_;
  Xbyak::Label sign_bits_;  // kNibblePlanes: 8 vectors, vector b holding 1 << b in every byte

  // Vector registers by role (accumulators take the lowest numbers).
  const Vmm vmm_c15 = Vmm(Traits::kVectorRegisters - 1);  // 15 in every byte: sign test
  const Vmm vmm_table_lo = Vmm(Traits::kVectorRegisters - 2);
  const Vmm vmm_table_hi = Vmm(Traits::kVectorRegisters - 3);
  const Vmm vmm_codes = Vmm(Traits::kVectorRegisters - 4);
  const Vmm vmm_sign = Vmm(Traits::kVectorRegisters - 5);
  const Vmm vmm_lo = Vmm(Traits::kVectorRegisters - 6);
  const Vmm vmm_hi = Vmm(Traits::kVectorRegisters - 7);
  const Vmm vmm_tmp = Vmm(Traits::kVectorRegisters - 8);
  const Xbyak::Opmask k_sign = Xbyak::Opmask(1);
  // kNibblePlanes: the current group's record (the α and count arrays' register: unused then).
  const Xbyak::Reg64 reg_record = reg_alpha;
};

}  // namespace sherry::jit::x64
