// Lowering: one linear script from a KernelKey to the program a generator emits. Each step is a
// free function over the Program; with a trace callback the program is printed after each step.
#pragma once

#include <functional>
#include <string>

#include "core/error.h"
#include "ir/kernel_key.h"
#include "ir/program.h"

namespace sherry::ir {

// What the code generator of an ISA path asks of the program (jit/x64 fills it per ISA traits).
struct LoweringTarget {
  int64_t row_tile = 1;          // rows per tile (the key's tuning overrides it when non-zero)
  int64_t row_tile_quantum = 1;  // a tuned row tile must be a multiple of this
  int64_t blocks_per_step = 1;   // blocks handled per step
  bool accumulate_i16 = false;   // int16 accumulators with periodic widening
  LookupMode lookup = LookupMode::kSignAfterLookup;
};

// The target of the portable scalar path: one row, one block, int32, sign after lookup.
LoweringTarget scalar_target();

// Called after each step with the step's name and the program as it stands.
using LowerTrace = std::function<void(std::string_view step, const Program& program)>;

// Errors: a key the layout validation rejects, a group size the target cannot step through,
// a tuned row tile that is not a multiple of the target's quantum.
Result<Program> lower(const KernelKey& key, const LoweringTarget& target,
                      const LowerTrace& trace = {});

// The individual steps, in script order.
Program build_naive(const KernelKey& key);
Status tile_rows(Program& program, int64_t row_tile);
Status step_blocks(Program& program, int64_t blocks_per_step);
Status accumulate_i16(Program& program);
void fold_sign(Program& program);

}  // namespace sherry::ir
