// The I2_S-style 2-bit kernel family (baselines/i2s_kernel.h) on x86-64, templated on the ISA
// traits. Per step of 4V columns and per row of the tile: one V-byte load, three shifts and four
// masks unpack 4 vectors of 2-bit values t + 1 ∈ {0, 1, 2}; each is multiplied with V int8
// activations and summed into int32 lanes (vpdpbusd with VNNI; else vpmaddubsw, int16 adds of the 4
// products, at most 4·508 in magnitude, and vpmaddwd by ones). The epilogue reduces 4 rows at once
// (extracts, vphaddd), subtracts Σq and writes int32 accumulators or (acc · scale) · α.
// Not derived from GeneratorBase: that one walks the LUT program, this family has no table.
#pragma once

#include <cstdint>

#include <xbyak/xbyak.h>

#include "baselines/i2s_kernel.h"

namespace sherry::jit::x64 {

// Vector registers below the accumulators: 4 unpacked vectors, the 0x03 mask, and without VNNI
// the int16 ones, a product and a sum.
template <class Traits>
constexpr int i2s_fixed_registers() {
  return Traits::kHasVbmi ? 5 : 8;
}
template <class Traits>
constexpr int64_t i2s_accumulator_budget() {
  return Traits::kVectorRegisters - i2s_fixed_registers<Traits>();
}

template <class Traits>
class I2sGemvGenerator final : public Xbyak::CodeGenerator {
 public:
  using Vmm = typename Traits::Vmm;
  I2sGemvGenerator(const I2sKernelKey& key, const I2sLayout& layout, uint8_t* buffer,
                   size_t capacity);
  void generate();

 private:
  static constexpr int kV = Traits::kVectorBytes;

  void load(const Vmm& dst, const Xbyak::Address& src);
  void and_into(const Vmm& dst, const Vmm& a, const Vmm& b);
  void zero(const Vmm& v);
  void emit_step();
  void emit_epilogue();
  void emit_constants();

  Xbyak::Address arg(size_t offset) { return ptr[reg_args + static_cast<int>(offset)]; }
  Vmm acc(int64_t token, int64_t row) const {
    return Vmm(static_cast<int>(i2s_fixed_registers<Traits>() + token * row_tile_ + row));
  }
  Vmm unpacked(int i) const { return Vmm(i); }

  const I2sKernelKey key_;
  const I2sLayout layout_;
  const int64_t row_tile_;
  Xbyak::Label c03_, ones16_;

  // General registers by role.
  const Xbyak::Reg64 reg_args = rdi;
  const Xbyak::Reg64 reg_weights = r8;  // weight stream at the current tile and step
  const Xbyak::Reg64 reg_x = r9;        // activations of token 0 at the current step
  const Xbyak::Reg64 reg_out = r10;     // output of token 0 at the current tile
  const Xbyak::Reg64 reg_tile = r11;
  const Xbyak::Reg64 reg_tile_end = r12;
  const Xbyak::Reg64 reg_xsum = r13;
  const Xbyak::Reg64 reg_scales = r14;
  const Xbyak::Reg64 reg_alpha = r15;
  const Xbyak::Reg64 reg_step = rcx;
  const Xbyak::Reg64 reg_tmp = rax;

  // Vector registers by role.
  const Vmm vmm_c03 = Vmm(4);
  const Vmm vmm_ones16 = Vmm(5);
  const Vmm vmm_product = Vmm(6);
  const Vmm vmm_sum = Vmm(7);
};

}  // namespace sherry::jit::x64
