#include "jit/kernel_build.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <span>

#include <fmt/format.h>

#include "jit/backend.h"
#include "jit/path_log.h"
#include "jit/paths.h"
#include "jit/tuning_file.h"

namespace sherry::jit {
namespace {

std::mutex side_channel_mutex;

void write_side_channels(const Kernel& kernel) {
  const char* perf = std::getenv("SHERRY_PERF_MAP");
  const char* dump = std::getenv("SHERRY_JIT_DUMP");
  const bool want_perf = perf != nullptr && std::string_view(perf) == "1";
  const bool want_dump = dump != nullptr && *dump != '\0';
  if (!want_perf && !want_dump) return;
  const std::span<const uint8_t> bytes = kernel.code_bytes();
  std::lock_guard lock(side_channel_mutex);
  if (want_perf) {
    const std::string path = fmt::format("/tmp/perf-{}.map", getpid());
    if (std::FILE* f = std::fopen(path.c_str(), "a")) {
      fmt::print(f, "{:x} {:x} {}\n", reinterpret_cast<uintptr_t>(kernel.code_address()),
                 bytes.size(), kernel.name);
      std::fclose(f);
    }
  }
  if (want_dump) {
    const std::string path = fmt::format("{}/{}.bin", dump, kernel.name);
    if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
      std::fwrite(bytes.data(), 1, bytes.size(), f);
      std::fclose(f);
    }
  }
}

// The backend of a key's path, or why there is none.
Result<const Backend*> backend_of(const ir::KernelKey& key) {
  if (isa_path(key.isa).backend == BackendKind::kReference) {
    return make_error("kernel {}: the scalar path runs the reference kernels, no generated code",
                      ir::kernel_name(key));
  }
  const Backend* backend = backend_for(key.isa);
  if (backend == nullptr) {
    return make_error("kernel {}: no code generator for {} in this build", ir::kernel_name(key),
                      ir::to_string(key.isa));
  }
  return backend;
}

}  // namespace

bool has_generated_kernels(ir::Isa isa) {
  const Backend* backend = backend_for(isa);
  return backend != nullptr && backend->runs_here();
}

int64_t max_n_tile(ir::Isa isa, int64_t row_tile) {
  const Backend* backend = backend_for(isa);
  return backend == nullptr ? 1 : backend->max_n_tile(isa, row_tile);
}

Result<ir::KernelKey> resolve_kernel_key(const ir::KernelKey& key, int threads) {
  // The tuned key has a tuning, so this recurses once at most.
  if (const std::optional<ir::KernelKey> tuned = tuned_key(key, threads)) {
    Result<ir::KernelKey> resolved = resolve_kernel_key(*tuned, threads);
    if (resolved.ok()) return resolved;
  }
  Result<const Backend*> backend = backend_of(key);
  if (!backend.ok()) return backend.error();
  return (*backend)->resolve_key(key);
}

Result<ir::LoweringTarget> kernel_lowering_target(const ir::KernelKey& key) {
  if (key.isa == ir::Isa::kScalar) return ir::scalar_target();
  Result<const Backend*> backend = backend_of(key);
  if (!backend.ok()) return backend.error();
  Result<ir::KernelKey> resolved = (*backend)->resolve_key(key);
  if (!resolved.ok()) return resolved.error();
  return (*backend)->lowering_target(*resolved);
}

Result<std::unique_ptr<Kernel>> build_kernel(const ir::KernelKey& key) {
  Result<const Backend*> backend = backend_of(key);
  if (!backend.ok()) return backend.error();
  const auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<Kernel>> kernel = (*backend)->build(key);
  if (!kernel.ok()) return kernel.error();
  (*kernel)->jit_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!(*backend)->runs_here()) {
    return make_error(
        "kernel {}: an {} path, whose code runs only on an {} host (sherry-asm --arch lists it "
        "anywhere)",
        (*kernel)->name, (*backend)->name(), (*backend)->name());
  }
  write_side_channels(**kernel);
  log_path_used("kernel", ir::to_string(key.isa));
  return kernel;
}

}  // namespace sherry::jit
