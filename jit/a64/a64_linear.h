// jit::Linear on the AArch64 kernels: one repacking of the weights shared by the kernels for
// 1 .. n_tile tokens (NEON LUT and sdot alike), the host prologue (tables or step-major int8
// activations) per block of tokens, and row tiles split over the thread pool.
#pragma once

#include <memory>
#include <vector>

#include "core/packed_tensor.h"
#include "core/thread_pool.h"
#include "jit/kernel.h"
#include "jit/linear.h"

namespace sherry::jit::a64 {

// kernels[n - 1] serves calls of n tokens; each holds its A64Kernel (Kernel::a64).
std::unique_ptr<Linear> make_a64_linear(const PackedTensorView& weights,
                                        std::vector<std::shared_ptr<const Kernel>> kernels,
                                        ThreadPool* pool);

}  // namespace sherry::jit::a64
