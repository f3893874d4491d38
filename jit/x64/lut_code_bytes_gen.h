// Kernel family "code bytes" (SSSE3, AVX2, AVX-512BW): one byte per (row, block) holding the 5-bit
// code, 16-entry tables per block as lo/hi byte planes looked up with (v)pshufb, the sign applied
// after the lookup as an xor with the sign mask (-v = ~v + 1: the +1s, one per negative block,
// are precomputed per row and group and preload the int32 accumulators), int16 accumulation
// widened to int32 in stack scratch before it can overflow, fp32 scaling per group.
#pragma once

#include <cstdint>

#include "jit/x64/generator_base.h"

namespace sherry::jit::x64 {

// Vector registers left for int16 accumulators (two per token and row vector).
template <class Traits>
constexpr int64_t code_bytes_accumulator_budget() {
  return Traits::kVectorRegisters - 8;
}

template <class Traits>
class LutCodeBytesGenerator final : public GeneratorBase {
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

  int64_t row_groups_;  // row vectors per tile
  Xbyak::Label constants_;

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
};

}  // namespace sherry::jit::x64
