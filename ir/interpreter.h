// The scalar reference interpreter of kernel programs: the executable definition of their
// semantics. For int16-exact tables its accumulators equal core's reference_accumulate_i32 and
// its outputs equal reference_scale_accumulators bit for bit; for int8 tables it defines them
// (requantization rule in ir/tables.h).
#pragma once

#include <cstdint>
#include <vector>

#include "core/activation_quant.h"
#include "core/error.h"
#include "core/packed_tensor.h"
#include "ir/program.h"

namespace sherry::ir {

struct InterpreterResult {
  std::vector<int32_t> acc;  // n_tile × m × groups, core's reference layout
  std::vector<float> y;      // n_tile × m (float output mode only)
  std::vector<float> tau;    // n_tile × groups: int8 table scales (int8 tables only)
};

// Errors: weights or activations whose shape or layout differs from the program's key.
Result<InterpreterResult> interpret(const Program& program, const PackedTensorView& w,
                                    const QuantizedActivations& x);

}  // namespace sherry::ir
