// The x86-64 backend: per ISA path, the lowering target and register-budget rules, and the whole
// path from a key to mapped code (lower, verify, lay out, generate, map read+execute).
#pragma once

#include <memory>

#include "core/error.h"
#include "ir/kernel_key.h"
#include "ir/lower.h"
#include "jit/kernel.h"

namespace sherry::jit::x64 {

// Tokens per call a path's kernels can hold in registers with this row tile (0: the default).
int64_t max_n_tile(ir::Isa isa, int64_t row_tile);

// Fills the key's default tuning (the row tile) for its path and checks it fits the registers.
// Errors: kScalar (no generated code), n_tile or row tile beyond the register budget.
Result<ir::KernelKey> resolve_key(ir::KernelKey key);

Result<ir::LoweringTarget> lowering_target(const ir::KernelKey& key);

// Lowers, verifies, generates and maps the kernel of a resolved key. Errors name the kernel.
Result<std::unique_ptr<Kernel>> emit_kernel(const ir::KernelKey& key);

}  // namespace sherry::jit::x64
