// The NEON tbl lowering of a LUT kernel program (ir/program.h) to AArch64 with asmjit.
//
// Per step of 8 blocks and 16-row sub-tile: the 5-bit codes of 16 rows are rebuilt in one
// register (nibble | sign << 4: and/ushr, cmtst, bit), then per token two tbl with a two-register
// table (the folded 32-entry low and high byte planes) give the exact int16 entries, zip1/zip2
// interleave the planes into int16 lanes, and add accumulates them in int16. Widen adds into the
// int32 accumulators (saddw/saddw2), kept with the fp32 outputs in a stack scratch area; per
// group the accumulators are converted (scvtf), multiplied by α and added to y (fmul then fadd,
// no fused multiply-add, so the outputs equal the interpreter's bit for bit).
// The per-token prologue of the program (permutation, tables) runs on the host before the call.
#pragma once

#include "core/error.h"
#include "ir/lower.h"
#include "ir/program.h"
#include "jit/a64/a64_code.h"

namespace sherry::jit::a64 {

// What this lowering asks of ir::lower: 16-row sub-tiles, 8-block steps, int16 accumulation,
// folded sign. A tuned row tile may be 16 or 32.
ir::LoweringTarget neon_lut_target();

// Errors: a program this generator cannot emit (row tile, tokens beyond the register budget,
// a statement structure other than the lowering produces), or an asmjit failure.
Result<A64Code> generate_neon_lut(const ir::Program& program, bool with_listing);

}  // namespace sherry::jit::a64
