#include "jit/x64/dot_gemm_gen.h"

#include "core/ternary_code.h"
#include "jit/x64/isa_traits.h"
#include "jit/x64/lut_nibble_gen.h"

namespace sherry::jit::x64 {

int64_t dot_block_rows(ir::Isa isa, int64_t row_tile) {
  if (isa == ir::Isa::kAvx2Vnni) return 16;
  return row_tile % 64 == 0 ? 64 : 32;
}

int64_t dot_decode_rows(ir::Isa isa, int64_t row_tile) {
  return isa == ir::Isa::kAvx2Vnni ? 32 : dot_block_rows(isa, row_tile);
}

int64_t dot_max_token_block(ir::Isa isa, int64_t block_rows) {
  const bool evex = isa != ir::Isa::kAvx2Vnni;
  const int64_t vectors = block_rows / (evex ? 16 : 8);
  return (evex ? 24 : 12) / vectors;
}

template <class Traits>
DotGemmGenerator<Traits>::DotGemmGenerator(const ir::Program& program, const KernelLayout& layout,
                                           uint8_t* buffer, size_t capacity)
    : GeneratorBase(program, layout, buffer, capacity) {
  constexpr WeightFormat format =
      kEvex ? WeightFormat::kNibblesSignMasks : WeightFormat::kNibblePlanes;
  SHERRY_CHECK(program.key.op == ir::KernelOp::kDotGemm && layout.format == format,
               "{}: not a dot kernel over this path's weight format", program.name);
  SHERRY_CHECK(layout.row_tile % decode_rows() == 0 && decode_rows() % layout.block_rows == 0 &&
                   vectors() <= kMaxVectors && layout.token_block >= 1 &&
                   layout.token_block * vectors() <= kAccumulators &&
                   program.shape.groups % layout.k_block_groups == 0,
               "{}: {} rows x {} tokens per block, {} groups per panel: not a valid plan",
               program.name, layout.block_rows, layout.token_block, layout.k_block_groups);
}

template <class Traits>
void DotGemmGenerator<Traits>::dot(const Vmm& acc, const Vmm& w, const Vmm& x) {
  if constexpr (kEvex) {
    vpdpbusd(acc, w, x);
  } else {
    vpdpbusd(acc, w, x, Xbyak::VexEncoding);  // AVX-VNNI
  }
}

template <class Traits>
void DotGemmGenerator<Traits>::load(const Vmm& dst, const Xbyak::Address& src) {
  if constexpr (kEvex) {
    vmovdqu8(dst, src);
  } else {
    vmovdqu(dst, src);
  }
}

template <class Traits>
void DotGemmGenerator<Traits>::store(const Xbyak::Address& dst, const Vmm& src) {
  if constexpr (kEvex) {
    vmovdqu8(dst, src);
  } else {
    vmovdqu(dst, src);
  }
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_body() {
  Xbyak::Label next_tile, done;
  mov(reg_tmp, arg(offsetof(KernelArgs, workspace)));
  mov(state(kPanel), reg_tmp);
  mov(reg_tmp, arg(offsetof(KernelArgs, tile_begin)));
  mov(state(kTile), reg_tmp);
  mov(reg_tmp, arg(offsetof(KernelArgs, tile_end)));
  mov(state(kTileEnd), reg_tmp);
  cmp(reg_tmp, state(kTile));
  jle(done, T_NEAR);
  L(next_tile);
  emit_tile_pointers();
  for (int64_t first_row = 0; first_row < row_tile(); first_row += decode_rows()) {
    emit_decode_block(first_row);
  }
  mov(reg_tmp, state(kTile));
  inc(reg_tmp);
  mov(state(kTile), reg_tmp);
  cmp(reg_tmp, state(kTileEnd));
  jl(next_tile, T_NEAR);
  L(done);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_tile_pointers() {
  // pointer = argument + tile · bytes per tile
  auto tile_stream = [&](Slot slot, size_t offset, int64_t bytes_per_tile) {
    mov(reg_tmp, state(kTile));
    imul(reg_tmp, reg_tmp, static_cast<uint32_t>(bytes_per_tile));
    add(reg_tmp, arg(offset));
    mov(state(slot), reg_tmp);
  };
  tile_stream(kWeightsTile, offsetof(KernelArgs, weights), layout_.tile_weight_bytes);
  if constexpr (kEvex) {
    tile_stream(kAlphaTile, offsetof(KernelArgs, headers), layout_.groups * layout_.header_bytes);
  } else {
    mov(reg_tmp, state(kWeightsTile));  // α leads each group's record
    mov(state(kAlphaTile), reg_tmp);
  }
  tile_stream(kOutTile, offsetof(KernelArgs, out), row_tile() * 4);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_decode_block(int64_t first_row) {
  const int64_t rows = decode_rows();
  const int64_t k_blocks = program_.shape.groups / layout_.k_block_groups;
  if (float_output()) emit_zero_output(first_row, rows);
  // K block pointers at the first K block.
  mov(reg_tmp, state(kWeightsTile));
  if constexpr (kEvex) add(reg_tmp, static_cast<uint32_t>(first_row / 32 * kNibblePairBytes));
  mov(state(kWeightsK), reg_tmp);
  mov(reg_tmp, state(kAlphaTile));
  add(reg_tmp, static_cast<uint32_t>(first_row * 2));  // α: fp16 per row
  mov(state(kAlphaK), reg_tmp);
  mov(reg_tmp, arg(offsetof(KernelArgs, tables)));
  mov(state(kRecordsK), reg_tmp);
  add(reg_tmp, static_cast<uint32_t>(layout_.k_pad));
  mov(state(kSumsK), reg_tmp);
  mov(reg_tmp, state(kOutTile));
  add(reg_tmp, static_cast<uint32_t>(first_row * 4));
  mov(state(kOutK), reg_tmp);
  mov(qword[reg_scratch + 8 * kKBlocksLeft], static_cast<uint32_t>(k_blocks));

  Xbyak::Label next_k_block;
  L(next_k_block);
  emit_decode(first_row);
  for (int64_t v = 0; v < panel_vectors(); v += vectors()) emit_token_blocks(v);
  // Next K block: its weights, α, activations, sums (and accumulator outputs).
  const int64_t k_weights = layout_.k_block_groups * (layout_.k_pad / program_.shape.groups);
  auto advance = [&](Slot slot, int64_t bytes) {
    mov(reg_tmp, state(slot));
    add(reg_tmp, static_cast<uint32_t>(bytes));
    mov(state(slot), reg_tmp);
  };
  advance(kWeightsK, kEvex ? k_weights / 16 * layout_.step_weight_bytes
                           : layout_.k_block_groups * layout_.group_weight_bytes);
  advance(kAlphaK, layout_.k_block_groups * alpha_group_stride());
  advance(kRecordsK, k_weights);
  advance(kSumsK, layout_.k_block_groups * 4);
  if (!float_output()) advance(kOutK, layout_.k_block_groups * layout_.m_pad * 4);
  dec(state(kKBlocksLeft));
  jnz(next_k_block, T_NEAR);

  if (float_output()) emit_finish(first_row, rows);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_zero_output(int64_t first_row, int64_t rows) {
  Xbyak::Label next_token;
  mov(reg_tmp, state(kOutTile));
  add(reg_tmp, static_cast<uint32_t>(first_row * 4));
  mov(reg_step, arg(offsetof(KernelArgs, tokens)));
  if constexpr (kEvex) {
    vpxord(tmp(), tmp(), tmp());
  } else {
    vpxor(tmp(), tmp(), tmp());
  }
  L(next_token);
  for (int64_t v = 0; v < rows / kVectorRows; ++v) {
    vmovups(ptr[reg_tmp + static_cast<int>(Traits::kVectorBytes * v)], tmp());
  }
  add(reg_tmp, static_cast<uint32_t>(layout_.out_token_bytes));
  dec(reg_step);
  jnz(next_token, T_NEAR);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_finish(int64_t first_row, int64_t rows) {
  Xbyak::Label next_token;
  mov(reg_tmp, state(kOutTile));
  add(reg_tmp, static_cast<uint32_t>(first_row * 4));
  mov(reg_group, arg(offsetof(KernelArgs, scales)));
  mov(reg_step, arg(offsetof(KernelArgs, tokens)));
  L(next_token);
  vbroadcastss(alpha(), ptr[reg_group]);
  for (int64_t v = 0; v < rows / kVectorRows; ++v) {
    const Xbyak::Address out = ptr[reg_tmp + static_cast<int>(Traits::kVectorBytes * v)];
    vmulps(tmp(), alpha(), out);
    vmovups(out, tmp());
  }
  add(reg_group, 4);
  add(reg_tmp, static_cast<uint32_t>(layout_.out_token_bytes));
  dec(reg_step);
  jnz(next_token, T_NEAR);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_decode(int64_t first_row) {
  if constexpr (kEvex) {
    emit_decode_sign_masks(first_row);
  } else {
    emit_decode_planes(first_row);
  }
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_decode_sign_masks(int64_t) {
  // Per step of 4 blocks and 32 rows: 64 bytes of slot nibbles (byte 4r + j: row r, block j;
  // rows 16-31 in the high nibbles) and a 64-bit sign mask per 16 rows. The code of (r, j) is
  // the nibble with the sign at bit 4; spread(j) copies it to bytes 4r .. 4r + 3, the lane
  // offset adds 32·p, and vpermi2b looks (lane, code) up in the 128-byte table of w = t + 1.
  if constexpr (kEvex) {
    const Vmm table_a = Vmm(0), table_b = Vmm(1), low_nibbles = Vmm(2), sign_bit = Vmm(3);
    const Vmm lane_offsets = Vmm(4), nibbles = Vmm(9), index = Vmm(12);
    auto spread = [](int j) { return Vmm(5 + j); };
    auto codes = [](int h) { return Vmm(10 + h); };
    auto sign_mask = [](int h) { return Xbyak::Opmask(1 + h); };
    vmovdqu8(table_a, ptr[rip + decode_tables_]);
    vmovdqu8(table_b, ptr[rip + decode_tables_ + 64]);
    vmovdqu8(low_nibbles, ptr[rip + low_nibbles_]);
    vmovdqu8(sign_bit, ptr[rip + sign_bit_]);
    vmovdqu8(lane_offsets, ptr[rip + lane_offsets_]);
    for (int j = 0; j < 4; ++j) vmovdqu8(spread(j), ptr[rip + spread_[j]]);
    const int64_t k_steps = layout_.k_block_groups * steps_per_group();
    const int64_t prefetch = program_.key.tuning.prefetch;
    const int64_t pairs = decode_rows() / 32;
    Xbyak::Label next_step;
    mov(reg_weights, state(kWeightsK));
    mov(reg_tmp, state(kPanel));
    mov(reg_step, k_steps);
    L(next_step);
    if (prefetch > 0) {
      for (int64_t line = 0; line < pairs * kNibblePairBytes; line += 64) {
        prefetcht0(ptr[reg_weights + static_cast<int>(prefetch + line)]);
      }
    }
    for (int64_t pair = 0; pair < pairs; ++pair) {
      const int base = static_cast<int>(pair * kNibblePairBytes);
      vmovdqu8(nibbles, ptr[reg_weights + base]);
      vpandd(codes(0), nibbles, low_nibbles);
      vpsrlw(codes(1), nibbles, 4);
      vpandd(codes(1), codes(1), low_nibbles);
      for (int h = 0; h < 2; ++h) {
        kmovq(sign_mask(h), ptr[reg_weights + base + 64 + 8 * h]);
        vpaddb(codes(h) | sign_mask(h), codes(h), sign_bit);  // byte mask: slot | 16
      }
      for (int h = 0; h < 2; ++h) {
        const int64_t v = 2 * pair + h;
        for (int j = 0; j < 4; ++j) {
          vpshufb(index, codes(h), spread(j));
          vpord(index, index, lane_offsets);
          vpermi2b(index, table_a, table_b);
          vmovdqu8(ptr[reg_tmp + static_cast<int>((j * panel_vectors() + v) * 64)], index);
        }
      }
    }
    add(reg_weights, static_cast<uint32_t>(layout_.step_weight_bytes));
    add(reg_tmp, static_cast<uint32_t>(panel_step_bytes()));
    dec(reg_step);
    jnz(next_step, T_NEAR);
  }
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_decode_planes(int64_t first_row) {
  // Per group record (header, then steps) and step, code vector c = j·G + g (block j, row
  // vector g of the tile's G): slots in nibble (c mod 2) of nibble vector c/2, signs in bit
  // c mod 8 of sign vector c/8; byte i holds row 8·((i mod 16)/4) + 4·(i/16) + i mod 4
  // (weight_repack.h). w_p = sign · t_p(slot) + 1 for each lane p; unpacking bytes, then words,
  // of (w0, w1) and (w2, w3) gives vectors of rows 0-7, 8-15, 16-23, 24-31 with 4 columns each.
  if constexpr (!kEvex) {
    auto table = [](int p) { return Vmm(p); };
    const Vmm low_nibbles = Vmm(4), ones = Vmm(5), nibbles = Vmm(6), signs = Vmm(7);
    const Vmm slots = Vmm(8), sign = Vmm(9), a = Vmm(14), a_high = Vmm(15);
    auto w = [](int p) { return Vmm(10 + p); };
    for (int p = 0; p < 4; ++p) vmovdqu(table(p), ptr[rip + decode_tables_ + 32 * p]);
    vmovdqu(low_nibbles, ptr[rip + low_nibbles_]);
    vmovdqu(ones, ptr[rip + ones_]);
    const int64_t row_vectors = row_tile() / 32;
    const int64_t g = first_row / 32;
    const int64_t prefetch = program_.key.tuning.prefetch;
    Xbyak::Label next_group, next_step;
    mov(reg_weights, state(kWeightsK));
    mov(reg_tmp, state(kPanel));
    mov(reg_group, layout_.k_block_groups);
    L(next_group);
    mov(reg_step, steps_per_group());
    add(reg_weights, static_cast<uint32_t>(layout_.header_bytes));
    L(next_step);
    if (prefetch > 0) {
      for (int64_t line = 0; line < layout_.step_weight_bytes; line += 64) {
        prefetcht0(ptr[reg_weights + static_cast<int>(prefetch + line)]);
      }
    }
    for (int j = 0; j < 4; ++j) {
      const int64_t c = j * row_vectors + g;
      vmovdqu(nibbles, ptr[reg_weights + static_cast<int>(c / 2 * 32)]);
      if (c % 2 == 0) {
        vpand(slots, nibbles, low_nibbles);
      } else {
        vpsrlw(slots, nibbles, 4);
        vpand(slots, slots, low_nibbles);
      }
      // sign = bit set ? −1 : +1 (0xFF where the bit is set, or'ed with 1).
      vmovdqu(signs, ptr[reg_weights + static_cast<int>(layout_.step_sign_offset + c / 8 * 32)]);
      vpand(signs, signs, ptr[rip + bits_ + 32 * (c % 8)]);
      vpcmpeqb(sign, signs, ptr[rip + bits_ + 32 * (c % 8)]);
      vpor(sign, sign, ones);
      for (int p = 0; p < 4; ++p) {
        vpshufb(w(p), table(p), slots);
        vpsignb(w(p), w(p), sign);
        vpaddb(w(p), w(p), ones);
      }
      vpunpcklbw(a, w(0), w(1));
      vpunpckhbw(a_high, w(0), w(1));
      vpunpcklbw(w(0), w(2), w(3));  // b
      vpunpckhbw(w(1), w(2), w(3));  // b_high
      const int base = j * 4 * 32;
      vpunpcklwd(w(2), a, w(0));
      vmovdqu(ptr[reg_tmp + base], w(2));  // rows 0-7
      vpunpckhwd(w(3), a, w(0));
      vmovdqu(ptr[reg_tmp + base + 32], w(3));  // rows 8-15
      vpunpcklwd(w(2), a_high, w(1));
      vmovdqu(ptr[reg_tmp + base + 64], w(2));  // rows 16-23
      vpunpckhwd(w(3), a_high, w(1));
      vmovdqu(ptr[reg_tmp + base + 96], w(3));  // rows 24-31
    }
    add(reg_weights, static_cast<uint32_t>(layout_.step_weight_bytes));
    add(reg_tmp, static_cast<uint32_t>(panel_step_bytes()));
    dec(reg_step);
    jnz(next_step, T_NEAR);
    // The next record: records are padded to 64 bytes after their steps.
    const int64_t used = layout_.header_bytes + steps_per_group() * layout_.step_weight_bytes;
    add(reg_weights, static_cast<uint32_t>(layout_.group_weight_bytes - used));
    dec(reg_group);
    jnz(next_group, T_NEAR);
  }
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_token_blocks(int64_t panel_vector) {
  // Full blocks of token_block tokens, then one tail kernel for what is left.
  const int64_t block_tokens = layout_.token_block;
  const int64_t rows = panel_vector * kVectorRows;  // of the decode block
  Xbyak::Label next_block, tail, done;
  mov(reg_records, state(kRecordsK));
  mov(reg_sums, state(kSumsK));
  mov(reg_alpha, state(kAlphaK));
  if (rows > 0) add(reg_alpha, static_cast<uint32_t>(rows * 2));
  mov(reg_out, state(kOutK));
  if (rows > 0) add(reg_out, static_cast<uint32_t>(rows * 4));
  mov(reg_panel, state(kPanel));
  if (rows > 0) add(reg_panel, static_cast<uint32_t>(panel_vector * Traits::kVectorBytes));
  mov(reg_tmp, arg(offsetof(KernelArgs, tokens)));
  mov(state(kTokensLeft), reg_tmp);
  L(next_block);
  cmp(qword[reg_scratch + 8 * kTokensLeft], static_cast<uint32_t>(block_tokens));
  jl(tail, T_NEAR);
  call(token_kernels_[block_tokens]);
  add(reg_records, static_cast<uint32_t>(block_tokens * layout_.table_bytes));
  add(reg_sums, static_cast<uint32_t>(block_tokens * layout_.table_bytes));
  add(reg_out, static_cast<uint32_t>(block_tokens * layout_.out_token_bytes));
  sub(qword[reg_scratch + 8 * kTokensLeft], static_cast<uint32_t>(block_tokens));
  jmp(next_block, T_NEAR);
  L(tail);
  mov(reg_tmp, state(kTokensLeft));
  for (int64_t t = 1; t < block_tokens; ++t) {
    Xbyak::Label other;
    cmp(reg_tmp, static_cast<uint32_t>(t));
    jne(other, T_NEAR);
    call(token_kernels_[t]);
    jmp(done, T_NEAR);
    L(other);
  }
  L(done);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_token_kernel(int64_t tokens) {
  const int64_t record = layout_.table_bytes;
  const int vb = Traits::kVectorBytes;
  Xbyak::Label next_group, next_step;
  mov(reg_cursor, reg_panel);
  mov(reg_x, reg_records);
  mov(reg_group_sums, reg_sums);
  mov(reg_group_alpha, reg_alpha);
  mov(reg_group_out, reg_out);
  mov(reg_group, layout_.k_block_groups);
  L(next_group);
  // The accumulators start at −Σ of each token's activations over the group.
  for (int64_t t = 0; t < tokens; ++t) {
    vpbroadcastd(acc(0, t), ptr[reg_group_sums + static_cast<int>(t * record)]);
    for (int64_t v = 1; v < vectors(); ++v) vmovaps(acc(v, t), acc(0, t));
  }
  mov(reg_step, steps_per_group());
  L(next_step);
  for (int j = 0; j < 4; ++j) {
    for (int64_t v = 0; v < vectors(); ++v) {
      load(weight(v), ptr[reg_cursor + static_cast<int>((j * panel_vectors() + v) * vb)]);
    }
    for (int64_t t = 0; t < tokens; ++t) {
      vpbroadcastd(broadcast(t), ptr[reg_x + static_cast<int>(t * record + 4 * j)]);
      for (int64_t v = 0; v < vectors(); ++v) dot(acc(v, t), weight(v), broadcast(t));
    }
  }
  add(reg_cursor, static_cast<uint32_t>(panel_step_bytes()));
  add(reg_x, 16);
  dec(reg_step);
  jnz(next_step, T_NEAR);
  for (int64_t v = 0; v < vectors(); ++v) {
    if (float_output()) {
      // fp16 α of the vector's rows: exact in fp32.
      vcvtph2ps(alpha(), ptr[reg_group_alpha + static_cast<int>(kVectorRows * 2 * v)]);
    }
    for (int64_t t = 0; t < tokens; ++t) {
      const Xbyak::Address out =
          ptr[reg_group_out + static_cast<int>(t * layout_.out_token_bytes + vb * v)];
      if (float_output()) {
        vcvtdq2ps(acc(v, t), acc(v, t));
        vfmadd213ps(acc(v, t), alpha(), out);  // out + acc · α
        vmovups(out, acc(v, t));
      } else {
        vmovups(out, acc(v, t));  // the int32 bits
      }
    }
  }
  add(reg_group_sums, 4);
  add(reg_group_alpha, static_cast<uint32_t>(alpha_group_stride()));
  if (!float_output()) add(reg_group_out, static_cast<uint32_t>(layout_.m_pad * 4));
  dec(reg_group);
  jnz(next_group, T_NEAR);
  ret();
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_subroutines() {
  for (int64_t t = 1; t <= layout_.token_block; ++t) {
    align(16);
    L(token_kernels_[t]);
    emit_token_kernel(t);
  }
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_constants() {
  align(64);
  L(decode_tables_);
  if constexpr (kEvex) {
    // byte 32·p + code: lane p of the code's block, + 1
    for (int p = 0; p < 4; ++p) {
      for (int code = 0; code < kCodeCount; ++code) {
        db(static_cast<uint8_t>(code_lane_value(static_cast<uint8_t>(code), p) + 1));
      }
    }
  } else {
    // Vector p, both 16-byte lanes: the sign-0 value of lane p for each slot (int8).
    for (int p = 0; p < 4; ++p) {
      for (int i = 0; i < 32; ++i) {
        db(static_cast<uint8_t>(
            static_cast<int8_t>(slot_lane_value(static_cast<uint8_t>(i % 16), p))));
      }
    }
  }
  L(low_nibbles_);
  for (int i = 0; i < 64; ++i) db(0x0F);
  L(sign_bit_);
  for (int i = 0; i < 64; ++i) db(0x10);
  L(ones_);
  for (int i = 0; i < 32; ++i) db(1);
  L(lane_offsets_);
  for (int i = 0; i < 64; ++i) db(32 * (i % 4));
  for (int j = 0; j < 4; ++j) {
    L(spread_[j]);  // in each 16-byte lane (4 rows): byte 4r + p ← byte 4r + j
    for (int i = 0; i < 64; ++i) db(static_cast<uint8_t>((i % 16) / 4 * 4 + j));
  }
  L(bits_);  // vector b: 1 << b in every byte
  for (int b = 0; b < 8; ++b) {
    for (int i = 0; i < 32; ++i) db(static_cast<uint8_t>(1 << b));
  }
}

template class DotGemmGenerator<Avx512vbmiTraits>;
template class DotGemmGenerator<Avx2VnniTraits>;

}  // namespace sherry::jit::x64
