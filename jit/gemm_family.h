// Which kernel family serves a call of several tokens (prefill): the lookup kernels (tables per
// token, 1-2 tokens per pass over the weights) or the dot kernels (codes decoded once per row
// tile, int8 dot products for every token: ir::KernelOp::kDotGemm). SHERRY_GEMM chooses:
//   auto    (default) the dot kernels from the path's measured crossover (jit/paths.h,
//           dot_min_tokens) where the path has them and they won a measurement;
//   lookup  the lookup kernels for every call;
//   dot     the dot kernels for every call of 2 tokens or more where the path has them.
// set_gemm_family overrides the variable (tests).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "ir/kernel_key.h"

namespace sherry::jit {

enum class GemmFamily : uint8_t { kAuto, kLookup, kDot };
std::string_view to_string(GemmFamily family);  // "auto" | "lookup" | "dot"

// set_gemm_family overrides SHERRY_GEMM; nullopt: the variable applies again.
void set_gemm_family(std::optional<GemmFamily> family);
// Errors: SHERRY_GEMM holding an unknown name (the message lists the names).
Result<GemmFamily> gemm_family();

// Calls of at least this many tokens run the dot kernels on the path under this choice; 0: none
// do (the path has no dot family, or the choice is lookup).
int64_t dot_min_tokens(ir::Isa isa, GemmFamily family);

}  // namespace sherry::jit
