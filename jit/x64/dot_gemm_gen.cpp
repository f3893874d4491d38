#include "jit/x64/dot_gemm_gen.h"

#include "core/ternary_code.h"
#include "jit/x64/isa_traits.h"
#include "jit/x64/lut_nibble_gen.h"

namespace sherry::jit::x64 {

template <class Traits>
DotGemmGenerator<Traits>::DotGemmGenerator(const ir::Program& program, const KernelLayout& layout,
                                           uint8_t* buffer, size_t capacity)
    : GeneratorBase(program, layout, buffer, capacity) {
  static_assert(Traits::kHasVbmi);
  SHERRY_CHECK(
      program.key.op == ir::KernelOp::kDotGemm && layout.format == WeightFormat::kNibblesSignMasks,
      "{}: not a dot kernel over nibbles and sign masks", program.name);
  SHERRY_CHECK(layout.row_tile % layout.block_rows == 0 && layout.block_rows % 32 == 0 &&
                   vectors() <= kDotBlockVectorsMax && layout.token_block >= 1 &&
                   layout.token_block * vectors() <= kDotAccumulators &&
                   program.shape.groups % layout.k_block_groups == 0,
               "{}: {} rows x {} tokens per block, {} groups per panel: not a valid plan",
               program.name, layout.block_rows, layout.token_block, layout.k_block_groups);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_body() {
  Xbyak::Label next_tile, done;
  mov(reg_tmp, arg(offsetof(KernelArgs, tile_begin)));
  mov(state(kTile), reg_tmp);
  mov(reg_tmp, arg(offsetof(KernelArgs, tile_end)));
  mov(state(kTileEnd), reg_tmp);
  mov(reg_panel, arg(offsetof(KernelArgs, workspace)));
  cmp(reg_tmp, state(kTile));
  jle(done, T_NEAR);
  L(next_tile);
  emit_tile_pointers();
  for (int64_t block = 0; block < row_tile() / layout_.block_rows; ++block) {
    emit_row_block(block);
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
  tile_stream(kHeadersTile, offsetof(KernelArgs, headers), layout_.groups * layout_.header_bytes);
  tile_stream(kOutTile, offsetof(KernelArgs, out), row_tile() * 4);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_row_block(int64_t block) {
  const int64_t rows = block * layout_.block_rows;  // first row of the block in the tile
  const int64_t k_blocks = program_.shape.groups / layout_.k_block_groups;
  if (float_output()) emit_zero_output(block);
  // K block pointers at the first K block.
  mov(reg_tmp, state(kWeightsTile));
  add(reg_tmp, static_cast<uint32_t>(rows / 32 * kNibblePairBytes));
  mov(state(kWeightsK), reg_tmp);
  mov(reg_tmp, state(kHeadersTile));
  add(reg_tmp, static_cast<uint32_t>(rows * 2));  // α: fp16 per row
  mov(state(kHeadersK), reg_tmp);
  mov(reg_tmp, arg(offsetof(KernelArgs, tables)));
  mov(state(kRecordsK), reg_tmp);
  add(reg_tmp, static_cast<uint32_t>(layout_.k_pad));
  mov(state(kSumsK), reg_tmp);
  mov(reg_tmp, state(kOutTile));
  add(reg_tmp, static_cast<uint32_t>(rows * 4));
  mov(state(kOutK), reg_tmp);
  mov(qword[reg_scratch + 8 * kKBlocksLeft], static_cast<uint32_t>(k_blocks));

  Xbyak::Label next_k_block;
  L(next_k_block);
  emit_decode(block);
  emit_token_blocks(block);
  // Next K block: its steps, headers, activations, sums (and accumulator outputs).
  const int64_t k_weights = layout_.k_block_groups * (layout_.k_pad / program_.shape.groups);
  const int64_t k_steps = k_weights / 16;
  auto advance = [&](Slot slot, int64_t bytes) {
    mov(reg_tmp, state(slot));
    add(reg_tmp, static_cast<uint32_t>(bytes));
    mov(state(slot), reg_tmp);
  };
  advance(kWeightsK, k_steps * layout_.step_weight_bytes);
  advance(kHeadersK, layout_.k_block_groups * layout_.header_bytes);
  advance(kRecordsK, k_weights);
  advance(kSumsK, layout_.k_block_groups * 4);
  if (!float_output()) advance(kOutK, layout_.k_block_groups * layout_.m_pad * 4);
  dec(state(kKBlocksLeft));
  jnz(next_k_block, T_NEAR);

  if (float_output()) emit_finish(block);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_zero_output(int64_t block) {
  Xbyak::Label next_token;
  mov(reg_tmp, state(kOutTile));
  add(reg_tmp, static_cast<uint32_t>(block * layout_.block_rows * 4));
  mov(reg_step, arg(offsetof(KernelArgs, tokens)));
  vpxord(vmm_tmp, vmm_tmp, vmm_tmp);
  L(next_token);
  for (int64_t v = 0; v < vectors(); ++v) vmovups(ptr[reg_tmp + static_cast<int>(64 * v)], vmm_tmp);
  add(reg_tmp, static_cast<uint32_t>(layout_.out_token_bytes));
  dec(reg_step);
  jnz(next_token, T_NEAR);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_finish(int64_t block) {
  Xbyak::Label next_token;
  mov(reg_tmp, state(kOutTile));
  add(reg_tmp, static_cast<uint32_t>(block * layout_.block_rows * 4));
  mov(reg_group, arg(offsetof(KernelArgs, scales)));
  mov(reg_step, arg(offsetof(KernelArgs, tokens)));
  L(next_token);
  vbroadcastss(vmm_alpha, ptr[reg_group]);
  for (int64_t v = 0; v < vectors(); ++v) {
    const Xbyak::Address out = ptr[reg_tmp + static_cast<int>(64 * v)];
    vmulps(vmm_tmp, vmm_alpha, out);
    vmovups(out, vmm_tmp);
  }
  add(reg_group, 4);
  add(reg_tmp, static_cast<uint32_t>(layout_.out_token_bytes));
  dec(reg_step);
  jnz(next_token, T_NEAR);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_decode(int64_t) {
  // Per step of 4 blocks and 32 rows: 64 bytes of slot nibbles (byte 4r + j: row r, block j;
  // rows 16-31 in the high nibbles) and a 64-bit sign mask per 16 rows. The code of (r, j) is
  // the nibble with the sign at bit 4; spread(j) copies it to bytes 4r .. 4r + 3, the lane
  // offset adds 32·p, and vpermi2b looks (lane, code) up in the 128-byte table of w = t + 1.
  vmovdqu8(vmm_table_a, ptr[rip + decode_tables_]);
  vmovdqu8(vmm_table_b, ptr[rip + decode_tables_ + 64]);
  vmovdqu8(vmm_low_nibbles, ptr[rip + low_nibbles_]);
  vmovdqu8(vmm_sign_bit, ptr[rip + sign_bit_]);
  vmovdqu8(vmm_lane_offsets, ptr[rip + lane_offsets_]);
  for (int j = 0; j < 4; ++j) vmovdqu8(spread(j), ptr[rip + spread_[j]]);
  const int64_t k_steps = layout_.k_block_groups * steps_per_group();
  const int64_t prefetch = program_.key.tuning.prefetch;
  Xbyak::Label next_step;
  mov(reg_weights, state(kWeightsK));
  mov(reg_tmp, reg_panel);
  mov(reg_step, k_steps);
  L(next_step);
  if (prefetch > 0) {
    for (int64_t line = 0; line < pairs() * kNibblePairBytes; line += 64) {
      prefetcht0(ptr[reg_weights + static_cast<int>(prefetch + line)]);
    }
  }
  for (int64_t pair = 0; pair < pairs(); ++pair) {
    const int base = static_cast<int>(pair * kNibblePairBytes);
    vmovdqu8(vmm_nibbles, ptr[reg_weights + base]);
    vpandd(codes(0), vmm_nibbles, vmm_low_nibbles);
    vpsrlw(codes(1), vmm_nibbles, 4);
    vpandd(codes(1), codes(1), vmm_low_nibbles);
    for (int h = 0; h < 2; ++h) {
      kmovq(sign_mask(h), ptr[reg_weights + base + 64 + 8 * h]);
      vpaddb(codes(h) | sign_mask(h), codes(h), vmm_sign_bit);  // byte mask: slot | 16
    }
    for (int h = 0; h < 2; ++h) {
      const int64_t v = 2 * pair + h;
      for (int j = 0; j < 4; ++j) {
        vpshufb(vmm_index, codes(h), spread(j));
        vpord(vmm_index, vmm_index, vmm_lane_offsets);
        vpermi2b(vmm_index, vmm_table_a, vmm_table_b);
        vmovdqu8(ptr[reg_tmp + static_cast<int>((j * vectors() + v) * 64)], vmm_index);
      }
    }
  }
  add(reg_weights, static_cast<uint32_t>(layout_.step_weight_bytes));
  add(reg_tmp, static_cast<uint32_t>(panel_step_bytes()));
  dec(reg_step);
  jnz(next_step, T_NEAR);
}

template <class Traits>
void DotGemmGenerator<Traits>::emit_token_blocks(int64_t) {
  // Full blocks of token_block tokens, then one tail kernel for what is left.
  const int64_t block_tokens = layout_.token_block;
  Xbyak::Label next_block, tail, done;
  mov(reg_records, state(kRecordsK));
  mov(reg_sums, state(kSumsK));
  mov(reg_headers, state(kHeadersK));
  mov(reg_out, state(kOutK));
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
  Xbyak::Label next_group, next_step;
  mov(reg_cursor, reg_panel);
  mov(reg_x, reg_records);
  mov(reg_group_sums, reg_sums);
  mov(reg_group_header, reg_headers);
  mov(reg_group_out, reg_out);
  mov(reg_group, layout_.k_block_groups);
  L(next_group);
  // The accumulators start at −Σ of each token's activations over the group.
  for (int64_t t = 0; t < tokens; ++t) {
    vpbroadcastd(acc(0, t), ptr[reg_group_sums + static_cast<int>(t * record)]);
    for (int64_t v = 1; v < vectors(); ++v) vmovdqa32(acc(v, t), acc(0, t));
  }
  mov(reg_step, steps_per_group());
  L(next_step);
  for (int j = 0; j < 4; ++j) {
    for (int64_t v = 0; v < vectors(); ++v) {
      vmovdqu8(weight(v), ptr[reg_cursor + static_cast<int>((j * vectors() + v) * 64)]);
    }
    for (int64_t t = 0; t < tokens; ++t) {
      vpbroadcastd(broadcast(t), ptr[reg_x + static_cast<int>(t * record + 4 * j)]);
      for (int64_t v = 0; v < vectors(); ++v) vpdpbusd(acc(v, t), weight(v), broadcast(t));
    }
  }
  add(reg_cursor, static_cast<uint32_t>(panel_step_bytes()));
  add(reg_x, 16);
  dec(reg_step);
  jnz(next_step, T_NEAR);
  for (int64_t v = 0; v < vectors(); ++v) {
    if (float_output()) {
      vcvtph2ps(vmm_alpha, ptr[reg_group_header + static_cast<int>(32 * v)]);  // fp16 α: exact
    }
    for (int64_t t = 0; t < tokens; ++t) {
      const Xbyak::Address out =
          ptr[reg_group_out + static_cast<int>(t * layout_.out_token_bytes + 64 * v)];
      if (float_output()) {
        vcvtdq2ps(acc(v, t), acc(v, t));
        vfmadd213ps(acc(v, t), vmm_alpha, out);  // out + acc · α
        vmovups(out, acc(v, t));
      } else {
        vmovdqu32(out, acc(v, t));
      }
    }
  }
  add(reg_group_sums, 4);
  add(reg_group_header, static_cast<uint32_t>(layout_.header_bytes));
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
  L(decode_tables_);  // byte 32·p + code: lane p of the code's block, + 1
  for (int p = 0; p < 4; ++p) {
    for (int code = 0; code < kCodeCount; ++code) {
      db(static_cast<uint8_t>(code_lane_value(static_cast<uint8_t>(code), p) + 1));
    }
  }
  L(low_nibbles_);
  for (int i = 0; i < 64; ++i) db(0x0F);
  L(sign_bit_);
  for (int i = 0; i < 64; ++i) db(0x10);
  L(lane_offsets_);
  for (int i = 0; i < 64; ++i) db(32 * (i % 4));
  for (int j = 0; j < 4; ++j) {
    L(spread_[j]);  // in each 16-byte lane (4 rows): byte 4r + p ← byte 4r + j
    for (int i = 0; i < 64; ++i) db(static_cast<uint8_t>((i % 16) / 4 * 4 + j));
  }
}

template class DotGemmGenerator<Avx512vbmiTraits>;

}  // namespace sherry::jit::x64
