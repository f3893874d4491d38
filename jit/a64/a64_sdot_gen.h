// The dot-product (sdot) lowering of a kernel program (ir/program.h) to AArch64 with asmjit, for
// CPUs with the dot-product extension (FEAT_DotProd). It reads the NEON LUT weight layout
// (jit/a64/a64_lut_layout.h) and needs no tables: the LookupAccumulate of the program,
// acc += T[b][code] = Σ_p t_p · x'[4b + p], is computed as an int8 dot product.
//
// Per tile and scale group, a decode pass turns the group's 5-bit codes into int8 weights in the
// workspace (per block, 4 row-quads of 16 bytes: 4 rows × 4 lanes, the operand order of
// sdot): the code of 16 rows is rebuilt as 4·code (shift, and, sign via sshr + bit), a 4-register
// tbl spreads it to (row, lane) bytes, and tbl + tbx over the 128-byte (code, lane) → ±1/0 table
// give the weights. Then, for each block of 4 tokens, sdot by element multiplies each weight
// vector with the block's 4 activations (int32 accumulation, exact), and the group is scaled
// (scvtf, fmul, fadd, like the interpreter). The per-token permutation runs on the host, into
// the step-major layout of sdot_activation_offset().
#pragma once

#include <cstdint>

#include "core/error.h"
#include "ir/lower.h"
#include "ir/program.h"
#include "jit/a64/a64_code.h"

namespace sherry::jit::a64 {

// 16-row tiles, 8-block steps, int32 accumulation, no int16 widening.
ir::LoweringTarget sdot_target();

// Bytes of decoded int8 weights of one scale group of one tile.
int64_t sdot_workspace_bytes(const ir::ProgramShape& shape);

// Byte offset of token t's 32 activations of step `step` in the sdot activation buffer:
// [step][token][32 bytes], so one pointer walks the tokens of a block step by step.
inline int64_t sdot_activation_offset(const ir::ProgramShape& shape, int64_t step, int64_t token) {
  return (step * shape.n_tile + token) * 32;
}

// Errors: a program other than the lowering for sdot_target() produces, or an asmjit failure.
Result<A64Code> generate_sdot(const ir::Program& program, bool with_listing);

}  // namespace sherry::jit::a64
