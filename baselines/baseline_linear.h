// Layers in the baseline formats, for comparing 1.25 vs 1.67 vs 2 bits/weight on equal terms:
// the same activation quantization (per token int8), the same threading (a ThreadPool over row
// tiles), the same dispatch (best allowed ISA path first, SHERRY_MAX_ISA caps it, the reference
// last), the same JIT and the same jit::Linear interface (run_with on copies for cold runs):
//  * I2_S-style 2-bit layers run baselines/i2s_kernel.h's generated kernels;
//  * TL2-style 1.67-bit layers run the Sherry LUT kernels with TL2 tables (baselines/tl2_tables.h).
// forward_accumulators gives acc[t·rows + row] (one group per row), compared bit-exactly with
// baselines/ternary_reference.h.
#pragma once

#include <memory>

#include "baselines/i2s_format.h"
#include "baselines/tl2_format.h"
#include "core/error.h"
#include "ir/kernel_key.h"
#include "jit/linear.h"

namespace sherry::jit {

// tuning: row tile and prefetch distance (0: the path's defaults).
Result<std::unique_ptr<Linear>> make_i2s_linear(const I2sTensor& w, const LinearOptions& options,
                                                const ir::Tuning& tuning = {});
Result<std::unique_ptr<Linear>> make_tl2_linear(const Tl2Tensor& w, const LinearOptions& options,
                                                const ir::Tuning& tuning = {});

}  // namespace sherry::jit
