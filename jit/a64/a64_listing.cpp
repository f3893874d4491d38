#include "jit/a64/a64_listing.h"

#include <cstdio>

#include <fmt/format.h>

#include "jit/a64/a64_lut_layout.h"
#include "jit/a64/a64_paths.h"

namespace sherry::jit::a64 {

std::vector<LoopCount> loop_counts(const A64Kernel& kernel) {
  const ir::ProgramShape& s = kernel.program().shape;
  const int64_t step_blocks = kNeonStepBlocks * s.row_tile;  // blocks of 4 weights, all rows
  std::vector<LoopCount> counts;
  for (const CodeMark& mark : kernel.code().marks) {
    LoopCount count{mark.name, mark.instructions(), step_blocks, 1};
    if (mark.name == "step") {
      count.tokens = s.n_tile;
    } else if (int64_t tokens = 0;
               std::sscanf(mark.name.c_str(), "sdot_%ld_tokens", &tokens) == 1) {
      count.tokens = tokens;
    }
    counts.push_back(count);
  }
  return counts;
}

Result<A64Kernel> build_for_listing(const ir::KernelKey& key) {
  Result<ir::KernelKey> resolved = resolve_key(key);
  if (!resolved.ok()) return resolved.error();
  return A64Kernel::build(*resolved, path_for(*resolved), /*with_listing=*/true);
}

std::string a64_listing(const A64Kernel& kernel, bool with_code) {
  const A64Code& code = kernel.code();
  std::string out = fmt::format("\ncode: {} bytes ({} path, AArch64, asmjit)\n", code.bytes.size(),
                                to_string(kernel.path()));
  for (const LoopCount& c : loop_counts(kernel)) {
    out += fmt::format("loop {}: {} instructions per iteration, {:.3f} per 4-weight block", c.loop,
                       c.instructions, c.per_block());
    if (c.tokens > 1) out += fmt::format(", {:.3f} per block and token", c.per_block_token());
    out += "\n";
  }
  if (with_code) out += "\n" + code.listing;
  return out;
}

}  // namespace sherry::jit::a64
