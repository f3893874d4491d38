#include "jit/paths.h"

namespace sherry::jit {

std::string_view to_string(CpuFeature feature) {
  switch (feature) {
    case CpuFeature::kSsse3:
      return "ssse3";
    case CpuFeature::kFma:
      return "fma";
    case CpuFeature::kAvx2:
      return "avx2";
    case CpuFeature::kAvx512f:
      return "avx512f";
    case CpuFeature::kAvx512bw:
      return "avx512bw";
    case CpuFeature::kAvx512vl:
      return "avx512vl";
    case CpuFeature::kAvx512vbmi:
      return "avx512vbmi";
    case CpuFeature::kAvx512vnni:
      return "avx512vnni";
    case CpuFeature::kAsimd:
      return "asimd";
    case CpuFeature::kDotprod:
      return "dotprod";
  }
  return "unknown";
}

bool path_runs_in_this_build(const IsaPath& path) {
  switch (path.backend) {
    case BackendKind::kReference:
      return true;
    case BackendKind::kX64:
#if defined(SHERRY_X86_64)
      return true;
#else
      return false;
#endif
    case BackendKind::kA64:
#if defined(__aarch64__)
      return true;
#else
      return false;
#endif
  }
  return false;
}

}  // namespace sherry::jit
