#include "trainer/qat/blas_core.h"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace sherry::train {
namespace {

// Set before the re-execution, so a library that ignores OPENBLAS_CORETYPE cannot cause a loop.
constexpr const char* kReexecMarker = "SHERRY_OPENBLAS_REEXEC";

}  // namespace

std::optional<std::string> better_openblas_core() {
  if (std::getenv("SHERRY_KEEP_OPENBLAS_CORETYPE") != nullptr) return std::nullopt;
  if (std::getenv(kReexecMarker) != nullptr) return std::nullopt;  // tried once already
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
  if (!avx512) return std::nullopt;
  const std::string_view core = openblas_get_corename();
  for (std::string_view with_avx512 :
       {"SkylakeX", "skylakex", "Cooperlake", "cooperlake", "SapphireRapids", "sapphirerapids"})
    if (core == with_avx512) return std::nullopt;
  return std::string("SkylakeX");
#else
  return std::nullopt;
#endif
}

std::string openblas_core_name() {
  return openblas_get_corename();
}

void reexec_with_better_openblas_core(char** argv) {
  const std::optional<std::string> core = better_openblas_core();
  if (!core) return;
  if (setenv(kReexecMarker, "1", 1) != 0 || setenv("OPENBLAS_CORETYPE", core->c_str(), 1) != 0)
    return;
  execv("/proc/self/exe", argv);
  // execv returned: keep the current kernels.
}

}  // namespace sherry::train
