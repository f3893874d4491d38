#include "jit/x64/lut_nibble_gen.h"

#include "jit/x64/isa_traits.h"

namespace sherry::jit::x64 {

template <class Traits>
LutNibbleGenerator<Traits>::LutNibbleGenerator(const ir::Program& program,
                                               const KernelLayout& layout, uint8_t* buffer,
                                               size_t capacity)
    : LutGeneratorBase(program, layout, buffer, capacity),
      pairs_(layout.row_tile / kNibbleRowsPerPair),
      int8_(program.key.table == ir::TablePrecision::kInt8Lossy) {
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
  vmovdqu8(vmm_ones, ptr[rip + ones_]);
  vmovdqu8(vmm_minus_ones, ptr[rip + minus_ones_]);
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
void LutNibbleGenerator<Traits>::emit_tile_streams() {
  start_stream(reg_weights, offsetof(KernelArgs, weights), layout_.tile_weight_bytes);
  start_stream(reg_header, offsetof(KernelArgs, headers), layout_.groups * layout_.header_bytes);
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_group_end() {
  add(reg_header, static_cast<uint32_t>(layout_.header_bytes));
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_init_accumulators() {
  // int16 tables: lo planes start at 0, hi planes at the group's bias −2·Σ signs of the row;
  // int8 tables: the one plane starts at −128·Σ signs. The header holds −Σ signs.
  for (int64_t p = 0; p < pairs_; ++p) {
    for (int h = 0; h < 2; ++h) {
      if (layout_.count_bytes == 1) {
        vpmovsxbd(vmm_tmp, header_sums(p, h));
      } else {
        vpmovsxwd(vmm_tmp, header_sums(p, h));
      }
      vpslld(vmm_tmp, vmm_tmp, int8_ ? 7 : 1);
      for (int64_t t = 0; t < tokens(); ++t) {
        const Vmm lo = acc(t, p, h, 0);
        if (int8_) {
          vmovdqa32(lo, vmm_tmp);
        } else {
          vpxord(lo, lo, lo);
          vmovdqa32(acc(t, p, h, 1), vmm_tmp);
        }
      }
    }
  }
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_lookup_accumulate(const ir::LookupAccumulate& lookup) {
  SHERRY_CHECK(lookup.mode == ir::LookupMode::kSignAfterLookup &&
               lookup.width == ir::AccWidth::kI32);
  const int64_t prefetch = program_.key.tuning.prefetch;
  if (prefetch > 0) {
    for (int64_t line = 0; line < layout_.step_weight_bytes; line += 64) {
      prefetcht0(ptr[reg_weights + static_cast<int>(prefetch + line)]);
    }
  }
  // One token: the step's two tables stay in registers for all pairs; several tokens read
  // theirs from L1 inside the lookups.
  const bool tables_in_registers = tokens() == 1;
  if (tables_in_registers) {
    vmovdqu8(table(0), ptr[reg_tables]);
    if (!int8_) vmovdqu8(table(1), ptr[reg_tables + 64]);
  }
  for (int64_t p = 0; p < pairs_; ++p) {
    // Index (slot | 16·block) and sign factors of both halves of the pair.
    const int base = static_cast<int>(p * kNibblePairBytes);
    vmovdqu8(index(0), ptr[reg_weights + base]);
    vpsrlw(index(1), index(0), 4);
    for (int h = 0; h < 2; ++h) {
      vpternlogd(index(h), vmm_c0f, vmm_block_offsets, 0xEA);  // (idx & 0x0F) | offsets
      kmovq(sign_mask(h), ptr[reg_weights + base + 64 + 8 * h]);
      vpblendmb(signs(h) | sign_mask(h), vmm_ones, vmm_minus_ones);
    }
    for (int64_t t = 0; t < tokens(); ++t) {
      const int table_offset = static_cast<int>(t * layout_.table_bytes);
      for (int h = 0; h < 2; ++h) {
        if (int8_) {
          // One plane of biased entries (e + 128, u8); the bias is in the initial accumulator.
          if (tables_in_registers) {
            vpermb(vmm_lo, index(h), table(0));
          } else {
            vpermb(vmm_lo, index(h), ptr[reg_tables + table_offset]);
          }
          vpdpbusd(acc(t, p, h, 0), vmm_lo, signs(h));
          continue;
        }
        if (tables_in_registers) {
          vpermb(vmm_lo, index(h), table(0));
          vpermb(vmm_hi, index(h), table(1));
        } else {
          vpermb(vmm_lo, index(h), ptr[reg_tables + table_offset]);
          vpermb(vmm_hi, index(h), ptr[reg_tables + table_offset + 64]);
        }
        vpdpbusd(acc(t, p, h, 0), vmm_lo, signs(h));
        vpdpbusd(acc(t, p, h, 1), vmm_hi, signs(h));
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
  if (int8_) return;  // one plane
  const Vmm lo = acc(t, p, h, 0);
  const Vmm hi = acc(t, p, h, 1);
  vpslld(hi, hi, 8);
  vpaddd(lo, lo, hi);
}

template <class Traits>
void LutNibbleGenerator<Traits>::emit_scale_group() {
  for (int64_t p = 0; p < pairs_; ++p) {
    for (int h = 0; h < 2; ++h) {
      vcvtph2ps(vmm_hi, header_alpha(p, h));  // fp16 α, exact in fp32: once for all tokens
      for (int64_t t = 0; t < tokens(); ++t) {
        combine(t, p, h);
        const Vmm lo = acc(t, p, h, 0);
        vcvtdq2ps(lo, lo);
        if (int8_) {
          // τ of this token and group sits right after the group's tables.
          vmulps(lo, lo, ptr_b[reg_tables + static_cast<int>(t * layout_.table_bytes)]);
        }
        vmovups(vmm_tmp, out(reg_out, t, p, h));
        vfmadd231ps(vmm_tmp, lo, vmm_hi);
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
  for (int i = 0; i < 64; ++i) db(16 * (i % 4));
  L(ones_);
  for (int i = 0; i < 64; ++i) db(1);
  L(minus_ones_);
  for (int i = 0; i < 64; ++i) db(0xFF);
}

template class LutNibbleGenerator<Avx512vbmiTraits>;

}  // namespace sherry::jit::x64
