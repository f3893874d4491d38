// The front end of kernel building, over the backend of each path (jit/backend.h): key
// resolution (with the tuning file), lowering targets and builds, plus the side channels:
// SHERRY_PERF_MAP=1 appends "<address> <size> <name>" to /tmp/perf-<pid>.map so perf report
// names the code, SHERRY_JIT_DUMP=<dir> writes the raw bytes to <dir>/<name>.bin.
#pragma once

#include <memory>

#include "core/error.h"
#include "ir/kernel_key.h"
#include "ir/lower.h"
#include "jit/kernel.h"

namespace sherry::jit {

// Whether this build runs generated kernels of the path (kScalar never has).
bool has_generated_kernels(ir::Isa isa);
// Largest tokens per call of the path's kernels at this row tile (0: the default row tile).
int64_t max_n_tile(ir::Isa isa, int64_t row_tile = 0);
// The key with its default tuning filled in (what the kernel will be named by); a key asking for
// the defaults gets this CPU's tuning file entry for a layer run on `threads` threads when it has
// one (jit/tuning_file.h).
Result<ir::KernelKey> resolve_kernel_key(const ir::KernelKey& key, int threads = 1);
Result<ir::LoweringTarget> kernel_lowering_target(const ir::KernelKey& key);

// Builds a kernel that runs on this host. Errors name the kernel.
Result<std::unique_ptr<Kernel>> build_kernel(const ir::KernelKey& key);

}  // namespace sherry::jit
