// The rules of the AArch64 ISA paths (rows of jit/paths.h) the backend resolves keys with:
//   neon     Advanced SIMD: NEON tbl LUT kernels for every token count;
//   dotprod  Advanced SIMD + dot product: the same LUT kernels for few tokens, sdot kernels for
//            kSdotMinTokens tokens or more (prefill), where one decode of the weights serves
//            every token of the call.
// Both read one repacking of the weights, so a layer mixes them freely.
#pragma once

#include <cstdint>

#include "core/error.h"
#include "ir/kernel_key.h"
#include "ir/lower.h"
#include "jit/a64/a64_kernel.h"
#include "jit/paths.h"

namespace sherry::jit::a64 {

inline constexpr int64_t kSdotMinTokens = 4;

constexpr bool is_a64_isa(ir::Isa isa) {
  return isa_path(isa).backend == BackendKind::kA64;
}

// The generator a key of an AArch64 path lowers to.
A64Path path_for(const ir::KernelKey& key);

// Largest tokens per call of the path's kernels at this row tile (0: the default).
int64_t max_n_tile(ir::Isa isa, int64_t row_tile);

// The key with its default tuning filled in. Errors: a row tile the path cannot use.
Result<ir::KernelKey> resolve_key(const ir::KernelKey& key);

ir::LoweringTarget lowering_target(const ir::KernelKey& key);

}  // namespace sherry::jit::a64
