// The kernel program: a small closed set of plain statement structs in a std::variant, built
// from a KernelKey by ir/lower.h and executed by the interpreter (ir/interpreter.h) or a code
// generator (jit/x64/). Target-neutral: vector widths appear only as tile sizes.
//
// Semantics (the interpreter is the executable definition):
//  * activations are quantized per token to int8 (core/activation_quant.h), permuted into block
//    order (q'[4b + p] = q[column(b, p)]) and zero-padded to k_pad;
//  * a table holds, per block b of 4 activations and code c, the exact int16 value
//      T[b][c] = Σ_p lane_value(slot(c), p) · q'[4b + p], negated when sign(c) = 1;
//    with kSignAfterLookup only the 16 sign-0 entries exist and the lookup negates, with
//    kSignFolded all 32 entries are stored: the same numbers; int8 tables (TablePrecision)
//    requantize the entries per token and scale group (ir/tables.h) and scale the group by τ;
//  * kI16 accumulators wrap like int16 hardware lanes, kI32 accumulators are exact; Widen adds
//    the int16 accumulator into the int32 one and clears it;
//  * per scale group, y += (float)acc32 · α (fp32); Finish multiplies y by the token's scale.
// Dot programs (KernelOp::kDotGemm) have no tables: the tile's codes are decoded into int8
// weights w = t + 1 ∈ {0, 1, 2} (DecodeWeights; unsigned, the operand form of x86's vpdpbusd),
// each group's accumulator starts at −Σ q' over the group (SumActivations, InitAccumulators with
// kMinusActivationSums) and gathers Σ w·q' (DotAccumulate), which is exactly Σ t·q'. A dot
// program's call runs 1 .. n_tile tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/weight_layout.h"
#include "ir/kernel_key.h"

namespace sherry::ir {

enum class LoopKind : uint8_t {
  kToken,  // tokens of the call (0 .. n_tile)
  kTile,   // row tiles (range given at run time: threads split it)
  kGroup,  // scale groups of a row
  kChunk,  // widening chunks of a group (int16 accumulation only)
  kStep,   // steps of blocks_per_step blocks inside a chunk
};

enum class LookupMode : uint8_t {
  kSignAfterLookup,  // 16-entry tables (sign-0 half), the sign negates the looked-up value
  kSignFolded,       // 32-entry tables, the code indexes the signed entry directly
};

enum class AccWidth : uint8_t { kI16, kI32 };

struct PermuteActivations {
  BlockGrouping grouping;
};
struct BuildTables {
  LookupMode mode;
};
// Per token and scale group: s[g] = Σ q' over the group's padded columns.
struct SumActivations {};
// The tile's codes as int8 weights w[r][4b + p] = lane value + 1 (dot programs).
struct DecodeWeights {};
struct ZeroOutput {};
enum class AccInit : uint8_t {
  kZero,
  kMinusActivationSums,  // acc32 = −s[group] of the token (dot programs)
};
struct InitAccumulators {
  AccInit value = AccInit::kZero;
};
// acc[t][r] += T_t[b][code(r, b)] for every row r of the tile and block b of the step.
struct LookupAccumulate {
  LookupMode mode;
  AccWidth width;
};
// acc32[t][r] += Σ_p w[r][4b + p] · q'[4b + p] for every row r of the tile and block b of the
// step (dot programs).
struct DotAccumulate {};
struct Widen {};
struct ScaleGroup {};         // y[t][r] += (float)acc32[t][r] · α[r][group]
struct StoreAccumulators {};  // out[t][group][r] = acc32[t][r]
struct Finish {};             // y[t][r] *= scale[t], stored

struct Loop;
using Stmt = std::variant<Loop, PermuteActivations, SumActivations, BuildTables, DecodeWeights,
                          ZeroOutput, InitAccumulators, LookupAccumulate, DotAccumulate, Widen,
                          ScaleGroup, StoreAccumulators, Finish>;
using Body = std::vector<Stmt>;

struct Loop {
  LoopKind kind;
  int64_t extent = 0;  // iterations (for kTile: the number of tiles of the whole matrix)
  Body body;
};

// The layer constants the program is specialised for.
struct ProgramShape {
  int64_t m = 0, k = 0;          // the matrix
  int64_t m_pad = 0;             // rows rounded up to the row tile
  int64_t k_pad = 0;             // cols rounded up to a whole number of steps
  int64_t row_tile = 1;          // rows per tile
  int64_t blocks_per_step = 1;   // blocks of 4 weights per step
  int64_t steps_per_chunk = 1;   // steps between widenings (the whole group without int16)
  int64_t chunks_per_group = 1;  // chunks per scale group
  int64_t groups = 1;            // scale groups per row
  int64_t n_tile = 1;            // tokens per call

  int64_t steps_per_group() const { return steps_per_chunk * chunks_per_group; }
  int64_t blocks_per_group() const { return steps_per_group() * blocks_per_step; }
  int64_t tiles() const { return m_pad / row_tile; }
};

struct Program {
  KernelKey key;
  std::string name;  // kernel_name(key)
  ProgramShape shape;
  Body body;
};

// Largest int16 accumulation a widening chunk may hold: |T| ≤ 3·127 per lookup.
inline constexpr int64_t kMaxTableMagnitude = 3 * 127;
inline constexpr int64_t kMaxI16Lookups = 32767 / kMaxTableMagnitude;  // 85

std::string_view to_string(LoopKind kind);
std::string_view to_string(LookupMode mode);
std::string_view to_string(AccWidth width);
std::string_view to_string(AccInit init);

}  // namespace sherry::ir
