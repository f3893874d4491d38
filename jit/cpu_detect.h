// CPU features (read once with cpu_features) and the ISA paths they allow. A path is a feature
// set, accepted when the CPU has every feature in it; SHERRY_MAX_ISA (or set_max_isa, for tests)
// caps the choice so one AVX-512 machine runs every path below its best.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "ir/kernel_key.h"
#include "jit/paths.h"

namespace sherry::jit {

struct CpuInfo {
  uint32_t features = 0;  // bit i: CpuFeature i
  std::string brand;

  bool has(CpuFeature feature) const { return (features >> static_cast<int>(feature)) & 1; }
};

// The host CPU, detected on first use.
const CpuInfo& host_cpu();

// Features an ISA path requires (empty for kScalar): its row of jit/paths.h.
std::span<const CpuFeature> isa_requirements(ir::Isa isa);

// Paths in preference order, best first; kScalar last (the order of jit/paths.h).
std::span<const ir::Isa> isa_preference();

// The cap: set_max_isa overrides SHERRY_MAX_ISA; nullopt removes the API cap (the environment
// variable applies again). Errors: SHERRY_MAX_ISA holding an unknown name.
void set_max_isa(std::optional<ir::Isa> isa);
Result<std::optional<ir::Isa>> max_isa();
// Changes on every set_max_isa call: a cheap key for a choice cached from max_isa() (the float
// kernels' path). Such a cache reads SHERRY_MAX_ISA once per key: a setenv is seen by it only
// after the next set_max_isa.
uint64_t max_isa_generation();

// Whether a path may run here; when not, `why` says which feature is missing or which cap applies.
bool isa_allowed(ir::Isa isa, const CpuInfo& cpu, std::string* why = nullptr);

// The best allowed path (kScalar at worst); `rejections` collects why better ones were skipped.
ir::Isa best_isa(const CpuInfo& cpu, std::vector<std::string>* rejections = nullptr);

// SHERRY_VERBOSE contains "dispatch".
bool verbose_dispatch();

}  // namespace sherry::jit
