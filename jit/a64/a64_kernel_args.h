// The one argument struct every AArch64 kernel reads (x0 points to it; fields read with offsetof).
// The caller has already run the program's per-token prologue on the host (block-order
// permutation, tables for the LUT path) and points each field at the first tile of its range.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sherry::jit::a64 {

struct A64KernelArgs {
  const uint8_t* weights = nullptr;  // repacked weights of the first tile (a64_lut_layout.h)
  const uint8_t* tables = nullptr;   // LUT: token 0's tables; sdot: token 0's permuted int8 x
  const float* alpha = nullptr;      // fp32 α of the first tile, [tile][group][row_tile]
  void* out = nullptr;               // float: y of the first tile; accumulators: see a64_kernel.h
  const float* x_scales = nullptr;   // n_tile activation scales
  int64_t tiles = 0;                 // row tiles to run
  uint8_t* workspace = nullptr;      // sdot: one group of decoded int8 weights (a64_kernel.h)
};

inline constexpr int32_t kArgWeights = offsetof(A64KernelArgs, weights);
inline constexpr int32_t kArgTables = offsetof(A64KernelArgs, tables);
inline constexpr int32_t kArgAlpha = offsetof(A64KernelArgs, alpha);
inline constexpr int32_t kArgOut = offsetof(A64KernelArgs, out);
inline constexpr int32_t kArgXScales = offsetof(A64KernelArgs, x_scales);
inline constexpr int32_t kArgTiles = offsetof(A64KernelArgs, tiles);
inline constexpr int32_t kArgWorkspace = offsetof(A64KernelArgs, workspace);

using A64KernelFn = void(const A64KernelArgs*);

}  // namespace sherry::jit::a64
