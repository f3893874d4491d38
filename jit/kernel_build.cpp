#include "jit/kernel_build.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <span>

#include <fmt/format.h>

#include "jit/a64/a64_kernel.h"
#include "jit/a64/a64_paths.h"
#include "jit/tuning_file.h"
#if defined(SHERRY_X86_64)
#include "jit/x64/emit_kernel.h"
#endif

namespace sherry::jit {
namespace {

std::mutex side_channel_mutex;

// `address`: where the code runs; `bytes`: the code (AArch64 kernels keep both in Kernel::a64).
void write_side_channels(const std::string& name, const void* address,
                         std::span<const uint8_t> bytes) {
  const char* perf = std::getenv("SHERRY_PERF_MAP");
  const char* dump = std::getenv("SHERRY_JIT_DUMP");
  const bool want_perf = perf != nullptr && std::string_view(perf) == "1";
  const bool want_dump = dump != nullptr && *dump != '\0';
  if (!want_perf && !want_dump) return;
  std::lock_guard lock(side_channel_mutex);
  if (want_perf) {
    const std::string path = fmt::format("/tmp/perf-{}.map", getpid());
    if (std::FILE* f = std::fopen(path.c_str(), "a")) {
      fmt::print(f, "{:x} {:x} {}\n", reinterpret_cast<uintptr_t>(address), bytes.size(), name);
      std::fclose(f);
    }
  }
  if (want_dump) {
    const std::string path = fmt::format("{}/{}.bin", dump, name);
    if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
      std::fwrite(bytes.data(), 1, bytes.size(), f);
      std::fclose(f);
    }
  }
}

// AArch64 kernels (jit/a64/) are cached only where they can run.
Result<std::unique_ptr<Kernel>> build_a64_kernel(const ir::KernelKey& key) {
  const auto start = std::chrono::steady_clock::now();
  Result<ir::KernelKey> resolved = a64::resolve_key(key);
  if (!resolved.ok()) return resolved.error();
  Result<a64::A64Kernel> built = a64::A64Kernel::build(*resolved, a64::path_for(*resolved));
  if (!built.ok()) return built.error();
  if (!built->runnable()) {
    return make_error(
        "kernel {}: an AArch64 path, whose code runs only on an AArch64 host "
        "(sherry-asm --arch aarch64 lists it anywhere)",
        built->code().name);
  }
  auto kernel = std::make_unique<Kernel>();
  kernel->key = *resolved;
  kernel->name = built->code().name;
  kernel->program = built->program();
  const ir::ProgramShape& s = kernel->program.shape;
  kernel->layout.row_tile = s.row_tile;
  kernel->layout.m_pad = s.m_pad;
  kernel->layout.k_pad = s.k_pad;
  kernel->layout.groups = s.groups;
  kernel->layout.tiles = s.tiles();
  kernel->a64 = std::make_shared<const a64::A64Kernel>(std::move(built).value());
  kernel->jit_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  write_side_channels(kernel->name, kernel->a64->code_address(), kernel->a64->code().bytes);
  return kernel;
}

}  // namespace

bool has_generated_kernels(ir::Isa isa) {
#if defined(__aarch64__)
  if (a64::is_a64_isa(isa)) return true;
#endif
#if defined(SHERRY_X86_64)
  return isa == ir::Isa::kSsse3 || isa == ir::Isa::kAvx2 || isa == ir::Isa::kAvx512bw ||
         isa == ir::Isa::kAvx512vbmi;
#else
  return false;
#endif
}

int64_t max_n_tile(ir::Isa isa, int64_t row_tile) {
  if (a64::is_a64_isa(isa)) return a64::max_n_tile(isa, row_tile);
#if defined(SHERRY_X86_64)
  if (has_generated_kernels(isa)) return x64::max_n_tile(isa, row_tile);
#endif
  return 1;
}

Result<ir::KernelKey> resolve_kernel_key(const ir::KernelKey& key) {
  // A key asking for the defaults gets this CPU's tuning file entry (jit/tuning_file.h) when it
  // has one that still resolves; the tuned key has a tuning, so this recurses once at most.
  if (const std::optional<ir::KernelKey> tuned = tuned_key(key)) {
    Result<ir::KernelKey> resolved = resolve_kernel_key(*tuned);
    if (resolved.ok()) return resolved;
  }
  if (a64::is_a64_isa(key.isa)) return a64::resolve_key(key);
#if defined(SHERRY_X86_64)
  return x64::resolve_key(key);
#else
  return make_error("kernel {}: no code generator in this build", ir::kernel_name(key));
#endif
}

Result<ir::LoweringTarget> kernel_lowering_target(const ir::KernelKey& key) {
  if (key.isa == ir::Isa::kScalar) return ir::scalar_target();
  if (a64::is_a64_isa(key.isa)) {
    Result<ir::KernelKey> resolved = a64::resolve_key(key);
    if (!resolved.ok()) return resolved.error();
    return a64::lowering_target(*resolved);
  }
#if defined(SHERRY_X86_64)
  return x64::lowering_target(key);
#else
  return make_error("kernel {}: no code generator in this build", ir::kernel_name(key));
#endif
}

Result<std::unique_ptr<Kernel>> build_kernel(const ir::KernelKey& key) {
  if (a64::is_a64_isa(key.isa)) return build_a64_kernel(key);
#if defined(SHERRY_X86_64)
  Result<std::unique_ptr<Kernel>> kernel = x64::emit_kernel(key);
  if (kernel.ok()) {
    const CodeMemory& code = (*kernel)->code;
    write_side_channels((*kernel)->name, code.data(), {code.data(), code.size()});
  }
  return kernel;
#else
  return make_error("kernel {}: no code generator in this build", ir::kernel_name(key));
#endif
}

}  // namespace sherry::jit
