#include "jit/a64/a64_paths.h"

#include "jit/a64/a64_lut_gen.h"
#include "jit/a64/a64_sdot_gen.h"

namespace sherry::jit::a64 {

A64Path path_for(const ir::KernelKey& key) {
  SHERRY_CHECK(is_a64_isa(key.isa), "{} is not an AArch64 path", ir::to_string(key.isa));
  if (key.isa == ir::Isa::kDotprod && key.n_tile >= kSdotMinTokens) return A64Path::kSdot;
  return A64Path::kNeonLut;
}

int64_t max_n_tile(ir::Isa isa, int64_t row_tile) {
  // NEON LUT: int16 accumulators of every token stay in registers (a64_lut_gen.cpp); a 32-row
  // tile holds one token.
  if (isa == ir::Isa::kNeon && row_tile == 32) return 1;
  return isa_path(isa).max_n_tile;
}

Result<ir::KernelKey> resolve_key(const ir::KernelKey& key) {
  ir::KernelKey resolved = key;
  if (resolved.tuning.prefetch == ir::kPathDefaultPrefetch) {
    resolved.tuning.prefetch = isa_path(resolved.isa).default_prefetch;
  }
  if (resolved.tuning.row_tile == 0) {
    resolved.tuning.row_tile = isa_path(resolved.isa).default_row_tile;
  }
  resolved.tuning.token_block = 0;  // dot kernel tunings: no AArch64 dot family
  resolved.tuning.k_block = 0;
  const int64_t row_tile = resolved.tuning.row_tile;
  const bool sdot = path_for(resolved) == A64Path::kSdot;
  if (row_tile != 16 && (sdot || row_tile != 32)) {
    return make_error("kernel {}: row tile {} is not one of this path's ({})",
                      ir::kernel_name(resolved), row_tile, sdot ? "16" : "16 or 32");
  }
  if (resolved.n_tile > max_n_tile(resolved.isa, row_tile)) {
    return make_error("kernel {}: {} tokens per call exceed this path's {} at row tile {}",
                      ir::kernel_name(resolved), resolved.n_tile,
                      max_n_tile(resolved.isa, row_tile), row_tile);
  }
  return resolved;
}

ir::LoweringTarget lowering_target(const ir::KernelKey& key) {
  return path_for(key) == A64Path::kSdot ? sdot_target() : neon_lut_target();
}

}  // namespace sherry::jit::a64
