// Helpers of the AArch64 backend tests: kernel keys and the lowering paths to sweep.
#pragma once

#include <cstdint>

#include "core/weight_layout.h"
#include "ir/kernel_key.h"
#include "jit/a64/a64_kernel.h"

namespace sherry::jit::a64::test {

inline ir::Isa isa_of(A64Path path) {
  return path == A64Path::kNeonLut ? ir::Isa::kNeon : ir::Isa::kDotprod;
}

inline ir::KernelKey make_key(A64Path path, int64_t m, int64_t k, const WeightLayout& layout,
                              int64_t n_tile = 1, ir::OutputMode output = ir::OutputMode::kFloat) {
  ir::KernelKey key;
  key.op = n_tile == 1 ? ir::KernelOp::kGemv : ir::KernelOp::kGemm;
  key.isa = isa_of(path);
  key.m = m;
  key.k = k;
  key.n_tile = n_tile;
  key.layout = layout;
  key.output = output;
  return key;
}

inline WeightLayout group_layout(int64_t group_size,
                                 BlockGrouping grouping = BlockGrouping::kContiguous) {
  return WeightLayout{grouping, ScaleGranularity::kGroup, group_size};
}
inline WeightLayout channel_layout() {
  return WeightLayout{BlockGrouping::kContiguous, ScaleGranularity::kChannel, 0};
}
inline WeightLayout tensor_layout() {
  return WeightLayout{BlockGrouping::kContiguous, ScaleGranularity::kTensor, 0};
}

}  // namespace sherry::jit::a64::test
