#include "jit/gemm_family.h"

#include <cstdlib>
#include <mutex>

#include "jit/paths.h"

namespace sherry::jit {
namespace {

std::mutex family_mutex;
std::optional<GemmFamily> api_family;

constexpr GemmFamily kFamilies[] = {GemmFamily::kAuto, GemmFamily::kLookup, GemmFamily::kDot};

}  // namespace

std::string_view to_string(GemmFamily family) {
  switch (family) {
    case GemmFamily::kAuto:
      return "auto";
    case GemmFamily::kLookup:
      return "lookup";
    case GemmFamily::kDot:
      return "dot";
  }
  return "unknown";
}

void set_gemm_family(std::optional<GemmFamily> family) {
  std::lock_guard lock(family_mutex);
  api_family = family;
}

Result<GemmFamily> gemm_family() {
  {
    std::lock_guard lock(family_mutex);
    if (api_family) return *api_family;
  }
  const char* value = std::getenv("SHERRY_GEMM");
  if (value == nullptr || *value == '\0') return GemmFamily::kAuto;
  for (const GemmFamily family : kFamilies) {
    if (to_string(family) == value) return family;
  }
  return make_error("SHERRY_GEMM: expected auto, lookup or dot, found '{}'", value);
}

int64_t dot_min_tokens(ir::Isa isa, GemmFamily family) {
  const IsaPath& path = isa_path(isa);
  if (!path.dot_gemm || family == GemmFamily::kLookup) return 0;
  return family == GemmFamily::kDot ? 2 : path.dot_min_tokens;
}

}  // namespace sherry::jit
