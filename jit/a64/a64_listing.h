// What sherry-asm --arch aarch64 prints for a kernel, on any host: the code size, asmjit's
// listing of the generated AArch64 code, and the instruction counts of its inner loops per
// 4-weight block (from the code's marks, a64_code.h).
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "ir/kernel_key.h"
#include "jit/a64/a64_kernel.h"

namespace sherry::jit::a64 {

struct LoopCount {
  std::string loop;          // "step", "decode", "sdot_4_tokens", ...
  int64_t instructions = 0;  // per iteration
  int64_t blocks = 0;        // 4-weight blocks per iteration (per token for lookups and sdot)
  int64_t tokens = 1;        // tokens per iteration
  double per_block() const { return static_cast<double>(instructions) / blocks; }
  double per_block_token() const { return per_block() / tokens; }
};

std::vector<LoopCount> loop_counts(const A64Kernel& kernel);

// The kernel of a key, built with asmjit's listing on any host. Errors: the key's path rejects
// it (resolve_key) or the generator fails.
Result<A64Kernel> build_for_listing(const ir::KernelKey& key);

// Code size, loop counts and (with_code) the listing of a kernel built for listing.
std::string a64_listing(const A64Kernel& kernel, bool with_code);

}  // namespace sherry::jit::a64
