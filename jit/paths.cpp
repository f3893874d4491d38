#include "jit/paths.h"

namespace sherry::jit {

namespace {

struct FeatureName {
  CpuFeature feature;
  std::string_view name;
};
constexpr FeatureName kFeatureNames[] = {
    {CpuFeature::kSsse3, "ssse3"},
    {CpuFeature::kFma, "fma"},
    {CpuFeature::kAvx2, "avx2"},
    {CpuFeature::kAvx512f, "avx512f"},
    {CpuFeature::kAvx512bw, "avx512bw"},
    {CpuFeature::kAvx512vl, "avx512vl"},
    {CpuFeature::kAvx512vbmi, "avx512vbmi"},
    {CpuFeature::kAvx512vnni, "avx512vnni"},
    {CpuFeature::kF16c, "f16c"},
    {CpuFeature::kAvxVnni, "avx_vnni"},
    {CpuFeature::kAsimd, "asimd"},
    {CpuFeature::kDotprod, "dotprod"},
};

}  // namespace

std::string_view to_string(CpuFeature feature) {
  for (const FeatureName& entry : kFeatureNames) {
    if (entry.feature == feature) return entry.name;
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
