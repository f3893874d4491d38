// Test support: a float path forced, or the JIT's ISA cap set, for one scope and put back after.
#pragma once

#include <optional>

#include "jit/cpu_detect.h"
#include "runtime/float_kernels.h"

namespace sherry::runtime::testing {

// Forces a float path (and so the int8 GEMM's) for a scope, then back to the automatic choice.
class ForcedFloatIsa {
 public:
  explicit ForcedFloatIsa(FloatIsa isa) { set_float_kernels_isa(isa); }
  ~ForcedFloatIsa() { set_float_kernels_isa(std::nullopt); }
};

// Caps the JIT (and so the automatic float path) for a scope.
class MaxIsa {
 public:
  explicit MaxIsa(ir::Isa isa) { jit::set_max_isa(isa); }
  ~MaxIsa() { jit::set_max_isa(std::nullopt); }
};

}  // namespace sherry::runtime::testing
