// SHERRY_PATH_LOG=FILE: each process appends one line per code path it uses, once per path —
// "kernel avx512vbmi" when a layer's kernel of that path is built (or the scalar reference layer
// is made), "float avx2" when the runtime's float kernels run on that path. The test suite sets
// it to learn which ISA paths actually ran (scripts/isa_coverage.sh prints the coverage line).
// Unset, nothing is written; the cost is a lookup the first time each path is used.
#pragma once

#include <string_view>

namespace sherry::jit {

// family: "kernel" or "float"; path: an ISA path name (ir::to_string) or a float path name.
void log_path_used(std::string_view family, std::string_view path);

}  // namespace sherry::jit
