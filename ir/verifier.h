// Checks a kernel program's invariants: shape arithmetic, loop nesting and extents, one of each
// required statement in its place, table and lookup modes agreeing, int16 accumulators widened
// before they can overflow. A failing program is a lowering bug; the message names the kernel.
#pragma once

#include "core/error.h"
#include "ir/program.h"

namespace sherry::ir {

Status verify(const Program& program);

}  // namespace sherry::ir
