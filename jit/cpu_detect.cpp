#include "jit/cpu_detect.h"

#if defined(SHERRY_X86_64)
#include <cpuid.h>
#endif

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#if defined(SHERRY_X86_64)
#include <cpu_features/cpuinfo_x86.h>
#elif defined(__aarch64__)
#include <cpu_features/cpuinfo_aarch64.h>
#endif

namespace sherry::jit {
namespace {

using ir::Isa;

// Paths in preference order, from the path table.
constexpr auto kPreference = [] {
  std::array<Isa, std::size(kIsaPaths)> order{};
  for (size_t i = 0; i < order.size(); ++i) order[i] = kIsaPaths[i].isa;
  return order;
}();

std::mutex cap_mutex;
std::optional<Isa> api_cap;
bool api_cap_set = false;
std::atomic<uint64_t> cap_generation{0};

CpuInfo detect() {
  CpuInfo info;
#if defined(SHERRY_X86_64)
  const cpu_features::X86Info x86 = cpu_features::GetX86Info();
  auto set = [&](CpuFeature feature, bool present) {
    if (present) info.features |= 1u << static_cast<int>(feature);
  };
  set(CpuFeature::kSsse3, x86.features.ssse3);
  set(CpuFeature::kFma, x86.features.fma3);
  set(CpuFeature::kAvx2, x86.features.avx2);
  set(CpuFeature::kAvx512f, x86.features.avx512f);
  set(CpuFeature::kAvx512bw, x86.features.avx512bw);
  set(CpuFeature::kAvx512vl, x86.features.avx512vl);
  set(CpuFeature::kAvx512vbmi, x86.features.avx512vbmi);
  set(CpuFeature::kAvx512vnni, x86.features.avx512vnni);
  set(CpuFeature::kF16c, x86.features.f16c);
  // cpu_features 0.7 has no AVX-VNNI bit: CPUID leaf 7 sub-leaf 1, EAX bit 4. Its VEX forms use
  // the AVX state the OS enables for AVX2 (which cpu_features checks), so AVX2 gates it.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  set(CpuFeature::kAvxVnni, x86.features.avx2 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) &&
                                ((eax >> 4) & 1) != 0);
  info.brand = x86.brand_string;
#elif defined(__aarch64__)
  const cpu_features::Aarch64Info arm = cpu_features::GetAarch64Info();
  if (arm.features.asimd) info.features |= 1u << static_cast<int>(CpuFeature::kAsimd);
  if (arm.features.asimddp) info.features |= 1u << static_cast<int>(CpuFeature::kDotprod);
  info.brand = fmt::format("aarch64 implementer 0x{:x} part 0x{:x}", arm.implementer, arm.part);
#endif
  return info;
}

// Position in the preference list: a lower rank is a better path.
int rank(Isa isa) {
  for (size_t i = 0; i < std::size(kPreference); ++i) {
    if (kPreference[i] == isa) return static_cast<int>(i);
  }
  return static_cast<int>(std::size(kPreference));
}

}  // namespace

const CpuInfo& host_cpu() {
  static const CpuInfo info = detect();
  return info;
}

std::span<const CpuFeature> isa_requirements(Isa isa) {
  return isa_path(isa).features();
}

std::span<const Isa> isa_preference() {
  return kPreference;
}

void set_max_isa(std::optional<Isa> isa) {
  std::lock_guard lock(cap_mutex);
  api_cap = isa;
  api_cap_set = isa.has_value();
  cap_generation.fetch_add(1, std::memory_order_release);
}

uint64_t max_isa_generation() {
  return cap_generation.load(std::memory_order_acquire);
}

Result<std::optional<Isa>> max_isa() {
  {
    std::lock_guard lock(cap_mutex);
    if (api_cap_set) return api_cap;
  }
  const char* env = std::getenv("SHERRY_MAX_ISA");
  if (env == nullptr || *env == '\0') return std::optional<Isa>{};
  Result<Isa> isa = ir::parse_isa(env);
  if (!isa.ok()) return isa.error().with_context("environment variable SHERRY_MAX_ISA");
  return std::optional<Isa>{*isa};
}

bool isa_allowed(Isa isa, const CpuInfo& cpu, std::string* why) {
  const IsaPath& path = isa_path(isa);
  if (!path_runs_in_this_build(path)) {
    if (why) *why = path.backend == BackendKind::kA64 ? "an AArch64 path" : "not an x86-64 build";
    return false;
  }
  for (const CpuFeature feature : isa_requirements(isa)) {
    if (!cpu.has(feature)) {
      if (why) *why = fmt::format("the CPU lacks {}", to_string(feature));
      return false;
    }
  }
  Result<std::optional<Isa>> cap = max_isa();
  if (!cap.ok()) {
    // An unreadable cap is reported once per query and treated as the safest cap.
    if (isa != Isa::kScalar) {
      if (why) *why = cap.error().message();
      return false;
    }
    return true;
  }
  if (cap->has_value() && rank(isa) < rank(**cap)) {
    if (why) *why = fmt::format("capped at {}", ir::to_string(**cap));
    return false;
  }
  return true;
}

Isa best_isa(const CpuInfo& cpu, std::vector<std::string>* rejections) {
  for (const Isa isa : kPreference) {
    std::string why;
    if (isa_allowed(isa, cpu, &why)) return isa;
    if (rejections) rejections->push_back(fmt::format("{}: {}", ir::to_string(isa), why));
  }
  return Isa::kScalar;
}

bool verbose_dispatch() {
  static const bool verbose = [] {
    const char* env = std::getenv("SHERRY_VERBOSE");
    return env != nullptr && std::strstr(env, "dispatch") != nullptr;
  }();
  return verbose;
}

}  // namespace sherry::jit
