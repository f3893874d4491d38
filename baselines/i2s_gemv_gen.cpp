#include "baselines/i2s_gemv_gen.h"

#include "jit/x64/isa_traits.h"

namespace sherry::jit::x64 {
namespace {

const Xbyak::Reg64 kCalleeSaved[] = {Xbyak::util::rbx, Xbyak::util::rbp, Xbyak::util::r12,
                                     Xbyak::util::r13, Xbyak::util::r14, Xbyak::util::r15};

}  // namespace

template <class Traits>
I2sGemvGenerator<Traits>::I2sGemvGenerator(const I2sKernelKey& key, const I2sLayout& layout,
                                           uint8_t* buffer, size_t capacity)
    : Xbyak::CodeGenerator(capacity, buffer),
      key_(key),
      layout_(layout),
      row_tile_(layout.row_tile) {
  SHERRY_CHECK(row_tile_ % 4 == 0 && row_tile_ * key.n_tile <= i2s_accumulator_budget<Traits>(),
               "{}: row tile {} x {} tokens exceeds the register budget", i2s_kernel_name(key),
               row_tile_, key.n_tile);
}

template <class Traits>
void I2sGemvGenerator<Traits>::load(const Vmm& dst, const Xbyak::Address& src) {
  if constexpr (Traits::kHasAvx512) {
    vmovdqu8(dst, src);
  } else {
    vmovdqu(dst, src);
  }
}

template <class Traits>
void I2sGemvGenerator<Traits>::and_into(const Vmm& dst, const Vmm& a, const Vmm& b) {
  if constexpr (Traits::kHasAvx512) {
    vpandd(dst, a, b);
  } else {
    vpand(dst, a, b);
  }
}

template <class Traits>
void I2sGemvGenerator<Traits>::zero(const Vmm& v) {
  if constexpr (Traits::kHasAvx512) {
    vpxord(v, v, v);
  } else {
    vpxor(v, v, v);
  }
}

template <class Traits>
void I2sGemvGenerator<Traits>::generate() {
  for (const Xbyak::Reg64& reg : kCalleeSaved) push(reg);
  Xbyak::Label tile_top, step_top, done;
  mov(reg_tile, arg(offsetof(I2sKernelArgs, tile_begin)));
  mov(reg_tile_end, arg(offsetof(I2sKernelArgs, tile_end)));
  cmp(reg_tile, reg_tile_end);
  jge(done, T_NEAR);
  // The streams are tile-major: start at the first tile, then just advance.
  mov(reg_weights, arg(offsetof(I2sKernelArgs, weights)));
  mov(reg_tmp, reg_tile);
  imul(reg_tmp, reg_tmp, static_cast<uint32_t>(layout_.tile_weight_bytes));
  add(reg_weights, reg_tmp);
  mov(reg_out, arg(offsetof(I2sKernelArgs, out)));
  mov(reg_tmp, reg_tile);
  imul(reg_tmp, reg_tmp, static_cast<uint32_t>(row_tile_ * 4));
  add(reg_out, reg_tmp);
  mov(reg_xsum, arg(offsetof(I2sKernelArgs, xsum)));
  mov(reg_scales, arg(offsetof(I2sKernelArgs, scales)));
  mov(reg_alpha, arg(offsetof(I2sKernelArgs, alpha)));

  L(tile_top);
  // The epilogue uses the constant registers as scratch: reload them per tile.
  load(vmm_c03, ptr[rip + c03_]);
  if constexpr (!Traits::kHasVbmi) load(vmm_ones16, ptr[rip + ones16_]);
  for (int64_t t = 0; t < key_.n_tile; ++t) {
    for (int64_t r = 0; r < row_tile_; ++r) zero(acc(t, r));
  }
  mov(reg_x, arg(offsetof(I2sKernelArgs, x)));
  mov(reg_step, layout_.steps);
  L(step_top);
  emit_step();
  add(reg_weights, static_cast<uint32_t>(row_tile_ * kV));
  add(reg_x, static_cast<uint32_t>(4 * kV));
  dec(reg_step);
  jnz(step_top, T_NEAR);
  emit_epilogue();
  add(reg_out, static_cast<uint32_t>(row_tile_ * 4));
  inc(reg_tile);
  cmp(reg_tile, reg_tile_end);
  jl(tile_top, T_NEAR);

  L(done);
  for (int i = static_cast<int>(std::size(kCalleeSaved)) - 1; i >= 0; --i) pop(kCalleeSaved[i]);
  vzeroupper();
  ret();
  emit_constants();
}

template <class Traits>
void I2sGemvGenerator<Traits>::emit_step() {
  for (int64_t r = 0; r < row_tile_; ++r) {
    const int chunk = static_cast<int>(r * kV);
    if (key_.prefetch > 0 && chunk % 64 == 0) {
      prefetcht0(ptr[reg_weights + static_cast<int>(key_.prefetch) + chunk]);
    }
    // u_i = (w >> 2i) & 3: columns c0 + V·i + j. u_0 last, in place.
    load(unpacked(0), ptr[reg_weights + chunk]);
    for (int i = 1; i < 4; ++i) {
      vpsrlw(unpacked(i), unpacked(0), static_cast<uint8_t>(2 * i));
      and_into(unpacked(i), unpacked(i), vmm_c03);
    }
    and_into(unpacked(0), unpacked(0), vmm_c03);
    for (int64_t t = 0; t < key_.n_tile; ++t) {
      const int x_token = static_cast<int>(t * layout_.k_pad);
      if constexpr (Traits::kHasVbmi) {
        for (int i = 0; i < 4; ++i) {
          vpdpbusd(acc(t, r), unpacked(i), ptr[reg_x + x_token + i * kV]);
        }
      } else {
        vpmaddubsw(vmm_sum, unpacked(0), ptr[reg_x + x_token]);
        for (int i = 1; i < 4; ++i) {
          vpmaddubsw(vmm_product, unpacked(i), ptr[reg_x + x_token + i * kV]);
          vpaddw(vmm_sum, vmm_sum, vmm_product);
        }
        vpmaddwd(vmm_sum, vmm_sum, vmm_ones16);
        vpaddd(acc(t, r), acc(t, r), vmm_sum);
      }
    }
  }
}

template <class Traits>
void I2sGemvGenerator<Traits>::emit_epilogue() {
  // Rows 4q..4q+3 of a token are reduced into xmm0..3 (VEX-encodable, for vphaddd), xmm4 scratch.
  const Xbyak::Xmm tmp(4);
  for (int64_t t = 0; t < key_.n_tile; ++t) {
    for (int64_t q = 0; q < row_tile_ / 4; ++q) {
      for (int j = 0; j < 4; ++j) {
        const int a = acc(t, 4 * q + j).getIdx();
        if constexpr (Traits::kHasAvx512) {
          vextracti64x4(Xbyak::Ymm(j), Xbyak::Zmm(a), 1);
          vpaddd(Xbyak::Ymm(j), Xbyak::Ymm(j), Xbyak::Ymm(a));
          vextracti128(tmp, Xbyak::Ymm(j), 1);
          vpaddd(Xbyak::Xmm(j), Xbyak::Xmm(j), tmp);
        } else {
          vextracti128(tmp, Xbyak::Ymm(a), 1);
          vpaddd(Xbyak::Xmm(j), Xbyak::Xmm(a), tmp);
        }
      }
      vphaddd(Xbyak::Xmm(0), Xbyak::Xmm(0), Xbyak::Xmm(1));
      vphaddd(Xbyak::Xmm(2), Xbyak::Xmm(2), Xbyak::Xmm(3));
      vphaddd(Xbyak::Xmm(0), Xbyak::Xmm(0), Xbyak::Xmm(2));
      vpbroadcastd(tmp, ptr[reg_xsum + static_cast<int>(4 * t)]);
      vpsubd(Xbyak::Xmm(0), Xbyak::Xmm(0), tmp);
      const Xbyak::Address out = ptr[reg_out + static_cast<int>(t * layout_.m_pad * 4 + 16 * q)];
      if (key_.output == ir::OutputMode::kAccumulators) {
        vmovdqu(out, Xbyak::Xmm(0));
      } else {
        // (float(acc) · scale) · α, baselines/ternary_reference.h's order.
        vcvtdq2ps(Xbyak::Xmm(0), Xbyak::Xmm(0));
        vbroadcastss(tmp, ptr[reg_scales + static_cast<int>(4 * t)]);
        vmulps(Xbyak::Xmm(0), Xbyak::Xmm(0), tmp);
        vbroadcastss(tmp, ptr[reg_alpha]);
        vmulps(Xbyak::Xmm(0), Xbyak::Xmm(0), tmp);
        vmovups(out, Xbyak::Xmm(0));
      }
    }
  }
}

template <class Traits>
void I2sGemvGenerator<Traits>::emit_constants() {
  align(64);
  L(c03_);
  for (int i = 0; i < kV; ++i) db(0x03);
  L(ones16_);
  for (int i = 0; i < kV / 2; ++i) dw(1);
}

template class I2sGemvGenerator<Avx2Traits>;
template class I2sGemvGenerator<Avx2VnniTraits>;
template class I2sGemvGenerator<Avx512bwTraits>;
template class I2sGemvGenerator<Avx512vbmiTraits>;

}  // namespace sherry::jit::x64
