#include "jit/x64/lut_nibble_gen.h"

#include "jit/x64/isa_traits.h"

namespace sherry::jit::x64 {

template <class Traits>
LutNibbleGenerator<Traits>::LutNibbleGenerator(const ir::Program& program,
                                               const KernelLayout& layout, uint8_t* buffer,
                                               size_t capacity)
    : GeneratorBase(program, layout, buffer, capacity),
      pairs_(layout.row_tile / kNibbleRowsPerPair) {
  static_assert(Traits::kHasVbmi);
  SHERRY_CHECK(layout.row_tile % kNibbleRowsPerPair == 0 && pairs_ <= kNibbleMaxPairs &&
                   pairs_ * tokens() <= kNibbleAccumulatorQuads,
               "{}: row tile {} x {} tokens exceeds the register budget", program.name,
               layout.row_tile, tokens());
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_setup() {
  vmovdqu8(vmm_c0f, ptr[rip + c0f_]);
  vmovdqu8(vmm_block_offsets, ptr[rip + block_offsets_]);
  vmovdqu8(vmm_c16, ptr[rip + c16_]);
  vmovdqu8(vmm_ones, ptr[rip + ones_]);
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_zero_output() {
  if (!float_output()) return;
  vpxord(vmm_tmp, vmm_tmp, vmm_tmp);
  for (int64_t t = 0; t < tokens(); ++t) {
    for (int64_t p = 0; p < pairs_; ++p) {
      for (int h = 0; h < 2; ++h) vmovups(out(reg_out, t, p, h), vmm_tmp);
    }
  }
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_init_accumulators() {
  for (int64_t t = 0; t < tokens(); ++t) {
    for (int64_t p = 0; p < pairs_; ++p) {
      for (int h = 0; h < 2; ++h) {
        for (int plane = 0; plane < 2; ++plane) {
          const Vmm a = acc(t, p, h, plane);
          vpxord(a, a, a);
        }
      }
    }
  }
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_lookup_accumulate(const ir::LookupAccumulate& lookup) {
  SHERRY_CHECK(lookup.mode == ir::LookupMode::kSignFolded && lookup.width == ir::AccWidth::kI32);
  const int64_t prefetch = program_.key.tuning.prefetch;
  if (prefetch > 0) {
    for (int64_t line = 0; line < layout_.step_weight_bytes; line += 64) {
      prefetcht0(ptr[reg_weights + static_cast<int>(prefetch + line)]);
    }
  }
  // Index vectors: slot | 32·block, +16 where the sign mask is set.
  for (int64_t p = 0; p < pairs_; ++p) {
    const int base = static_cast<int>(p * kNibblePairBytes);
    vmovdqu8(vmm_nibbles, ptr[reg_weights + base]);
    for (int h = 0; h < 2; ++h) {
      const Vmm idx = index(p, h);
      if (h == 0) {
        vpandd(idx, vmm_nibbles, vmm_c0f);
      } else {
        vpsrlw(idx, vmm_nibbles, 4);
        vpandd(idx, idx, vmm_c0f);
      }
      vpord(idx, idx, vmm_block_offsets);
      kmovq(sign_mask(p, h), ptr[reg_weights + base + 64 + 8 * h]);
      vpaddb(idx | sign_mask(p, h), idx, vmm_c16);
    }
  }
  for (int64_t t = 0; t < tokens(); ++t) {
    const int table = static_cast<int>(t * layout_.table_bytes);
    vmovdqu8(vmm_lo_a, ptr[reg_tables + table]);
    vmovdqu8(vmm_lo_b, ptr[reg_tables + table + 64]);
    vmovdqu8(vmm_hi_a, ptr[reg_tables + table + 128]);
    vmovdqu8(vmm_hi_b, ptr[reg_tables + table + 192]);
    const bool last_token = t + 1 == tokens();
    for (int64_t p = 0; p < pairs_; ++p) {
      for (int h = 0; h < 2; ++h) {
        const Vmm idx = index(p, h);
        vmovdqa64(vmm_tmp, idx);
        vpermi2b(vmm_tmp, vmm_lo_a, vmm_lo_b);
        vpdpbusd(acc(t, p, h, 0), vmm_tmp, vmm_ones);  // lo plane: unsigned bytes
        // The last token may consume the index register itself.
        const Vmm hi = last_token ? idx : vmm_tmp;
        if (!last_token) vmovdqa64(hi, idx);
        vpermi2b(hi, vmm_hi_a, vmm_hi_b);
        vpdpbusd(acc(t, p, h, 1), vmm_ones, hi);  // hi plane: signed bytes
      }
    }
  }
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_widen() {
  SHERRY_CHECK(false, "{}: int32 accumulators need no widening", program_.name);
}

template <class Traits>
void LutNibbleGenerator<Traits>::combine(int64_t t, int64_t p, int h) {
  const Vmm lo = acc(t, p, h, 0);
  const Vmm hi = acc(t, p, h, 1);
  vpslld(hi, hi, 8);
  vpaddd(lo, lo, hi);
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_scale_group() {
  for (int64_t t = 0; t < tokens(); ++t) {
    for (int64_t p = 0; p < pairs_; ++p) {
      for (int h = 0; h < 2; ++h) {
        combine(t, p, h);
        const Vmm lo = acc(t, p, h, 0);
        vcvtdq2ps(lo, lo);
        vmovups(vmm_tmp, out(reg_out, t, p, h));
        vfmadd231ps(vmm_tmp, lo, ptr[reg_alpha + static_cast<int>((32 * p + 16 * h) * 4)]);
        vmovups(out(reg_out, t, p, h), vmm_tmp);
      }
    }
  }
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_store_accumulators() {
  for (int64_t t = 0; t < tokens(); ++t) {
    for (int64_t p = 0; p < pairs_; ++p) {
      for (int h = 0; h < 2; ++h) {
        combine(t, p, h);
        vmovdqu32(out(reg_acc_out, t, p, h), acc(t, p, h, 0));
      }
    }
  }
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_finish() {
  mov(reg_tmp, arg(offsetof(KernelArgs, scales)));
  for (int64_t t = 0; t < tokens(); ++t) {
    vbroadcastss(vmm_nibbles, ptr[reg_tmp + static_cast<int>(4 * t)]);
    for (int64_t p = 0; p < pairs_; ++p) {
      for (int h = 0; h < 2; ++h) {
        vmulps(vmm_tmp, vmm_nibbles, out(reg_out, t, p, h));
        vmovups(out(reg_out, t, p, h), vmm_tmp);
      }
    }
  }
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_constants() {
  align(64);
  L(c0f_);
  for (int i = 0; i < 64; ++i) db(0x0F);
  L(block_offsets_);
  for (int i = 0; i < 64; ++i) db(32 * (i % 4));
  L(c16_);
  for (int i = 0; i < 64; ++i) db(16);
  L(ones_);
  for (int i = 0; i < 64; ++i) db(1);
}

template class LutNibbleGenerator<Avx512vbmiTraits>;

}  // namespace sherry::jit::x64
