// CPU detection, ISA paths as feature sets, and the cap (API and SHERRY_MAX_ISA).
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "jit/cpu_detect.h"
#include "tests/jit/jit_test_util.h"

namespace sherry::jit {
namespace {

TEST_CASE("a path is allowed exactly when the CPU has all its features") {
  CpuInfo none;
  std::string why;
  CHECK(isa_allowed(ir::Isa::kScalar, none));
  CHECK_FALSE(isa_allowed(ir::Isa::kAvx2, none, &why));
  CHECK(why == "the CPU lacks avx2");
  CpuInfo partial;
  for (const CpuFeature f : isa_requirements(ir::Isa::kAvx512vbmi)) {
    if (f != CpuFeature::kAvx512vnni) partial.features |= 1u << static_cast<int>(f);
  }
  CHECK(isa_allowed(ir::Isa::kAvx512bw, partial));
  CHECK_FALSE(isa_allowed(ir::Isa::kAvx512vbmi, partial, &why));
  CHECK(why == "the CPU lacks avx512vnni");
  std::vector<std::string> rejections;
  CHECK(best_isa(partial, &rejections) == ir::Isa::kAvx512bw);
  REQUIRE(rejections.size() == 1);
  CHECK(rejections[0] == "avx512vbmi: the CPU lacks avx512vnni");
}

TEST_CASE("the API cap limits the best path and says why") {
  CpuInfo all;
  all.features = ~0u;
  {
    test::IsaCap cap(ir::Isa::kAvx2);
    std::vector<std::string> rejections;
    CHECK(best_isa(all, &rejections) == ir::Isa::kAvx2);
    REQUIRE(rejections.size() == 3);  // avx512vbmi, avx512bw, avx2vnni
    CHECK(rejections[0] == "avx512vbmi: capped at avx2");
    CHECK(rejections[2] == "avx2vnni: capped at avx2");
  }
  {
    test::IsaCap cap(ir::Isa::kScalar);
    CHECK(best_isa(all) == ir::Isa::kScalar);
  }
  CHECK(best_isa(all) != ir::Isa::kScalar);
}

TEST_CASE("SHERRY_MAX_ISA caps the path and a bad value is reported") {
  CpuInfo all;
  all.features = ~0u;
  setenv("SHERRY_MAX_ISA", "ssse3", 1);
  CHECK(best_isa(all) == ir::Isa::kSsse3);
  setenv("SHERRY_MAX_ISA", "avx9000", 1);
  Result<std::optional<ir::Isa>> cap = max_isa();
  REQUIRE_FALSE(cap.ok());
  CHECK(cap.error().message().find("SHERRY_MAX_ISA") != std::string::npos);
  CHECK(cap.error().message().find("'avx9000'") != std::string::npos);
  std::string why;
  CHECK_FALSE(isa_allowed(ir::Isa::kSsse3, all, &why));
  CHECK(why.find("avx9000") != std::string::npos);
  CHECK(best_isa(all) == ir::Isa::kScalar);
  {
    test::IsaCap cap_api(ir::Isa::kAvx2);  // the API cap wins over the environment
    CHECK(best_isa(all) == ir::Isa::kAvx2);
  }
  unsetenv("SHERRY_MAX_ISA");
  CHECK(best_isa(all) == ir::Isa::kAvx512vbmi);
}

TEST_CASE("AArch64 paths are never allowed on x86-64") {
  CpuInfo all;
  all.features = ~0u;
  std::string why;
  CHECK_FALSE(isa_allowed(ir::Isa::kNeon, all, &why));
  CHECK(why == "an AArch64 path");
}

TEST_CASE("the host CPU reports its brand and a consistent best path") {
  const CpuInfo& cpu = host_cpu();
  MESSAGE("cpu: ", cpu.brand, " best path: ", ir::to_string(best_isa(cpu)));
  if (cpu.has(CpuFeature::kAvx2) && cpu.has(CpuFeature::kFma)) {
    CHECK(best_isa(cpu) != ir::Isa::kSsse3);
  }
}

}  // namespace
}  // namespace sherry::jit
