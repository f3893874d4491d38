#include "jit/x64/lut_code_bytes_gen.h"

#include "jit/x64/isa_traits.h"

namespace sherry::jit::x64 {

template <class Traits>
LutCodeBytesGenerator<Traits>::LutCodeBytesGenerator(const ir::Program& program,
                                                     const KernelLayout& layout, uint8_t* buffer,
                                                     size_t capacity)
    : LutGeneratorBase(program, layout, buffer, capacity),
      row_groups_(layout.row_tile / kW),
      planes_(layout.format == WeightFormat::kNibblePlanes) {
  SHERRY_CHECK(!planes_ || (Traits::kHasAvx && !Traits::kHasVbmi),
               "{}: nibble planes are generated for AVX2 and AVX-512BW only", program.name);
  SHERRY_CHECK(layout.row_tile % kW == 0 &&
                   2 * row_groups_ * tokens() <= code_bytes_accumulator_budget<Traits>(),
               "{}: row tile {} x {} tokens exceeds the register budget", program.name,
               layout.row_tile, tokens());
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::load(const Vmm& dst, const Xbyak::Address& src) {
  if constexpr (Traits::kHasAvx512) {
    vmovdqu8(dst, src);
  } else if constexpr (Traits::kHasAvx) {
    vmovdqu(dst, src);
  } else {
    movdqu(dst, src);
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::store(const Xbyak::Address& dst, const Vmm& src) {
  if constexpr (Traits::kHasAvx512) {
    vmovdqu8(dst, src);
  } else if constexpr (Traits::kHasAvx) {
    vmovdqu(dst, src);
  } else {
    movdqu(dst, src);
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::xor_into(const Vmm& dst, const Vmm& a, const Vmm& b) {
  if constexpr (Traits::kHasAvx512) {
    vpxord(dst, a, b);
  } else if constexpr (Traits::kHasAvx) {
    vpxor(dst, a, b);
  } else {
    SHERRY_CHECK(dst.getIdx() == a.getIdx());
    pxor(dst, b);
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_setup() {
  load(vmm_c15, ptr[rip + constants_]);
  if constexpr (Traits::kHasAvx512) {
    if (planes_) vpternlogd(vmm_sign, vmm_sign, vmm_sign, 0xFF);  // −1: ~v = −1 − v
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_tile_streams() {
  if (!planes_) {
    LutGeneratorBase::emit_tile_streams();
    return;
  }
  start_stream(reg_weights, offsetof(KernelArgs, weights), layout_.tile_weight_bytes);
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_group_begin() {
  if (!planes_) return;
  mov(reg_record, reg_weights);
  add(reg_weights, static_cast<uint32_t>(layout_.header_bytes));
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_group_end() {
  if (!planes_) {
    LutGeneratorBase::emit_group_end();
    return;
  }
  lea(reg_weights, ptr[reg_record + static_cast<int>(layout_.group_weight_bytes)]);
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_zero_output() {
  if (!float_output()) return;  // the accumulator stores overwrite every row
  xor_into(vmm_tmp, vmm_tmp, vmm_tmp);
  for (int64_t t = 0; t < tokens(); ++t) {
    for (int64_t g = 0; g < row_groups_; ++g) {
      for (int v = 0; v < 4; ++v) {
        store(ptr[reg_out + static_cast<int>(t * layout_.out_token_bytes) + row_offset(g, v)],
              vmm_tmp);
      }
    }
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_init_accumulators() {
  for (int64_t t = 0; t < tokens(); ++t) {
    for (int64_t g = 0; g < row_groups_; ++g) {
      for (int half = 0; half < 2; ++half)
        xor_into(acc(t, g, half), acc(t, g, half), acc(t, g, half));
    }
  }
  // The int32 accumulators start at the number of negative blocks (the xor's missing +1s).
  for (int64_t g = 0; g < row_groups_; ++g) {
    for (int v = 0; v < 4; ++v) {
      if (!planes_) {
        load(vmm_tmp, ptr[reg_nneg + row_offset(g, v)]);
      } else if constexpr (Traits::kHasAvx) {
        if (layout_.count_bytes == 1) {
          vpmovzxbd(vmm_tmp, record_counts(g, v));
        } else {
          vpmovzxwd(vmm_tmp, record_counts(g, v));
        }
      }
      for (int64_t t = 0; t < tokens(); ++t) store(scratch(t, g, v), vmm_tmp);
    }
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_lookup_accumulate(const ir::LookupAccumulate& lookup) {
  SHERRY_CHECK(lookup.mode == ir::LookupMode::kSignAfterLookup &&
               lookup.width == ir::AccWidth::kI16);
  const int64_t prefetch = program_.key.tuning.prefetch;
  if (prefetch > 0) {
    for (int64_t line = 0; line < layout_.step_weight_bytes; line += 64) {
      prefetcht0(ptr[reg_weights + static_cast<int>(prefetch + line)]);
    }
  }
  if (planes_) {
    // Nibble planes: a code vector costs more to unpack than its table lookups, so each is
    // unpacked once for all tokens (the tables are re-broadcast per token instead: loads).
    for (int j = 0; j < 4; ++j) {
      if (tokens() == 1) broadcast_tables(0, j);
      for (int64_t g = 0; g < row_groups_; ++g) {
        load_plane_codes(j, g);
        for (int64_t t = 0; t < tokens(); ++t) {
          if (tokens() > 1) broadcast_tables(t, j);
          lookup_accumulate(t, j, g);
        }
      }
    }
    return;
  }
  for (int j = 0; j < 4; ++j) {
    for (int64_t t = 0; t < tokens(); ++t) {
      broadcast_tables(t, j);
      for (int64_t g = 0; g < row_groups_; ++g) {
        load_byte_codes(j, g);
        lookup_accumulate(t, j, g);
      }
    }
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::broadcast_tables(int64_t t, int j) {
  const int table = table_offset(t, j);
  if constexpr (Traits::kHasAvx512) {
    vbroadcasti32x4(vmm_table_lo, ptr[reg_tables + table]);
    vbroadcasti32x4(vmm_table_hi, ptr[reg_tables + table + 16]);
  } else if constexpr (Traits::kHasAvx) {
    vbroadcasti128(vmm_table_lo, ptr[reg_tables + table]);
    vbroadcasti128(vmm_table_hi, ptr[reg_tables + table + 16]);
  }
  // SSE: pshufb reads the tables from memory in lookup_accumulate.
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::lookup_accumulate(int64_t t, int j, int64_t g) {
  const int table = table_offset(t, j);
  if constexpr (Traits::kHasAvx) {
    vpshufb(vmm_lo, vmm_table_lo, vmm_codes);
    vpshufb(vmm_hi, vmm_table_hi, vmm_codes);
  } else {
    movdqu(vmm_lo, ptr[reg_tables + table]);
    pshufb(vmm_lo, vmm_codes);
    movdqu(vmm_hi, ptr[reg_tables + table + 16]);
    pshufb(vmm_hi, vmm_codes);
  }
  // ~v for negative codes; the +1 is in the preloaded counts.
  if (avx512_planes()) {
    // The signs are a byte mask: −1 − v where it is set (vmm_sign holds −1).
    if constexpr (Traits::kHasAvx512) {
      vpsubb(vmm_lo | k_sign, vmm_sign, vmm_lo);
      vpsubb(vmm_hi | k_sign, vmm_sign, vmm_hi);
    }
  } else {
    xor_into(vmm_lo, vmm_lo, vmm_sign);
    xor_into(vmm_hi, vmm_hi, vmm_sign);
  }
  if constexpr (Traits::kHasAvx) {
    vpunpcklbw(vmm_tmp, vmm_lo, vmm_hi);
    vpunpckhbw(vmm_lo, vmm_lo, vmm_hi);
    vpaddw(acc(t, g, 0), acc(t, g, 0), vmm_tmp);
    vpaddw(acc(t, g, 1), acc(t, g, 1), vmm_lo);
  } else {
    movdqa(vmm_tmp, vmm_lo);
    punpcklbw(vmm_tmp, vmm_hi);
    punpckhbw(vmm_lo, vmm_hi);
    paddw(acc(t, g, 0), vmm_tmp);
    paddw(acc(t, g, 1), vmm_lo);
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::load_byte_codes(int j, int64_t g) {
  load(vmm_codes, ptr[reg_weights + static_cast<int>(j * row_tile() + g * kW)]);
  // 0xFF where the code's sign bit (16) is set: codes above 15.
  if constexpr (Traits::kHasAvx512) {
    vpcmpgtb(k_sign, vmm_codes, vmm_c15);
    vpmovm2b(vmm_sign, k_sign);
  } else if constexpr (Traits::kHasAvx) {
    vpcmpgtb(vmm_sign, vmm_codes, vmm_c15);
  } else {
    movdqa(vmm_sign, vmm_codes);
    pcmpgtb(vmm_sign, vmm_c15);
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::load_plane_codes(int j, int64_t g) {
  if constexpr (Traits::kHasAvx && !Traits::kHasAvx512) {
    const int64_t c = j * row_groups_ + g;  // code vector of the step
    const auto nibbles = ptr[reg_weights + static_cast<int>(c / 2 * kW)];
    if (c % 2 == 0) {
      vpand(vmm_codes, vmm_c15, nibbles);  // the low nibbles: slots (bit 7 clear for pshufb)
    } else {
      vmovdqu(vmm_codes, nibbles);
      vpsrlw(vmm_codes, vmm_codes, 4);
      vpand(vmm_codes, vmm_codes, vmm_c15);
    }
    // 0xFF where bit c % 8 of the sign byte is set.
    const auto bit = ptr[rip + sign_bits_ + static_cast<int>(c % 8 * kW)];
    vmovdqu(vmm_sign, ptr[reg_weights + static_cast<int>(layout_.step_sign_offset + c / 8 * kW)]);
    vpand(vmm_sign, vmm_sign, bit);
    vpcmpeqb(vmm_sign, vmm_sign, bit);
  } else if constexpr (Traits::kHasAvx512) {
    const int64_t c = j * row_groups_ + g;
    const auto nibbles = ptr[reg_weights + static_cast<int>(c / 2 * kW)];
    if (c % 2 == 0) {
      vpandd(vmm_codes, vmm_c15, nibbles);
    } else {
      vpsrlw(vmm_codes, nibbles, 4);
      vpandd(vmm_codes, vmm_codes, vmm_c15);
    }
    // k_sign: where bit c % 8 of the sign byte is set.
    vmovdqu8(vmm_tmp, ptr[reg_weights + static_cast<int>(layout_.step_sign_offset + c / 8 * kW)]);
    vptestmb(k_sign, vmm_tmp, ptr[rip + sign_bits_ + static_cast<int>(c % 8 * kW)]);
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_widen() {
  // Sign-extend the words in lane order: dword vector v of a row vector holds its rows
  // [v·W/4, (v+1)·W/4) (the repacking orders the code bytes for this).
  for (int64_t t = 0; t < tokens(); ++t) {
    for (int64_t g = 0; g < row_groups_; ++g) {
      for (int half = 0; half < 2; ++half) {
        const Vmm a = acc(t, g, half);
        for (int part = 0; part < 2; ++part) {
          const int v = 2 * half + part;
          if constexpr (Traits::kHasAvx) {
            if (part == 0) {
              vpunpcklwd(vmm_tmp, a, a);
            } else {
              vpunpckhwd(vmm_tmp, a, a);
            }
            vpsrad(vmm_tmp, vmm_tmp, 16);
            load(vmm_lo, scratch(t, g, v));
            vpaddd(vmm_tmp, vmm_tmp, vmm_lo);
          } else {
            movdqa(vmm_tmp, a);
            if (part == 0) {
              punpcklwd(vmm_tmp, vmm_tmp);
            } else {
              punpckhwd(vmm_tmp, vmm_tmp);
            }
            psrad(vmm_tmp, 16);
            movdqu(vmm_lo, scratch(t, g, v));
            paddd(vmm_tmp, vmm_lo);
          }
          store(scratch(t, g, v), vmm_tmp);
        }
        xor_into(a, a, a);
      }
    }
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_scale_group() {
  for (int64_t t = 0; t < tokens(); ++t) {
    for (int64_t g = 0; g < row_groups_; ++g) {
      for (int v = 0; v < 4; ++v) {
        const auto out =
            ptr[reg_out + static_cast<int>(t * layout_.out_token_bytes) + row_offset(g, v)];
        const auto alpha = ptr[reg_alpha + row_offset(g, v)];
        if constexpr (Traits::kHasAvx) {
          vcvtdq2ps(vmm_tmp, scratch(t, g, v));
          vmovups(vmm_lo, out);
          if (planes_) {
            vcvtph2ps(vmm_hi, record_alpha(g, v));  // fp16 α: exact in fp32
            vfmadd231ps(vmm_lo, vmm_tmp, vmm_hi);
          } else {
            vfmadd231ps(vmm_lo, vmm_tmp, alpha);
          }
          vmovups(out, vmm_lo);
        } else {
          movdqu(vmm_tmp, scratch(t, g, v));
          cvtdq2ps(vmm_tmp, vmm_tmp);
          movups(vmm_lo, alpha);
          mulps(vmm_tmp, vmm_lo);
          movups(vmm_lo, out);
          addps(vmm_lo, vmm_tmp);
          movups(out, vmm_lo);
        }
      }
    }
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_store_accumulators() {
  for (int64_t t = 0; t < tokens(); ++t) {
    for (int64_t g = 0; g < row_groups_; ++g) {
      for (int v = 0; v < 4; ++v) {
        load(vmm_tmp, scratch(t, g, v));
        store(ptr[reg_acc_out + static_cast<int>(t * layout_.out_token_bytes) + row_offset(g, v)],
              vmm_tmp);
      }
    }
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_finish() {
  mov(reg_tmp, arg(offsetof(KernelArgs, scales)));
  for (int64_t t = 0; t < tokens(); ++t) {
    if constexpr (Traits::kHasAvx) {
      vbroadcastss(vmm_table_hi, ptr[reg_tmp + static_cast<int>(4 * t)]);
    } else {
      movss(vmm_table_hi, ptr[reg_tmp + static_cast<int>(4 * t)]);
      shufps(vmm_table_hi, vmm_table_hi, 0);
    }
    for (int64_t g = 0; g < row_groups_; ++g) {
      for (int v = 0; v < 4; ++v) {
        const auto out =
            ptr[reg_out + static_cast<int>(t * layout_.out_token_bytes) + row_offset(g, v)];
        if constexpr (Traits::kHasAvx) {
          vmulps(vmm_tmp, vmm_table_hi, out);
        } else {
          movups(vmm_tmp, out);
          mulps(vmm_tmp, vmm_table_hi);
        }
        if constexpr (Traits::kHasAvx) {
          vmovups(out, vmm_tmp);
        } else {
          movups(out, vmm_tmp);
        }
      }
    }
  }
}

template <class Traits>
void LutCodeBytesGenerator<Traits>::emit_constants() {
  align(64);
  L(constants_);
  for (int i = 0; i < kW; ++i) db(15);
  if (!planes_) return;
  L(sign_bits_);
  for (int b = 0; b < 8; ++b) {
    for (int i = 0; i < kW; ++i) db(1 << b);
  }
}

template class LutCodeBytesGenerator<Ssse3Traits>;
template class LutCodeBytesGenerator<Avx2Traits>;
template class LutCodeBytesGenerator<Avx2VnniTraits>;
template class LutCodeBytesGenerator<Avx512bwTraits>;

}  // namespace sherry::jit::x64
