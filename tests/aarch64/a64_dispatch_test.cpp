// The AArch64 paths in CPU detection, the kernel cache and jit::Linear's dispatch: the features
// each path requires on any host, and on an AArch64 host (or qemu-aarch64) the layers
// make_linear builds under each SHERRY_MAX_ISA cap against the reference backend, bit for bit.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "jit/a64/a64_backend.h"
#include "jit/a64/a64_paths.h"
#include "jit/cpu_detect.h"
#include "jit/kernel_build.h"
#include "jit/linear.h"
#include "tests/aarch64/a64_test_util.h"
#include "tests/core/test_util.h"

namespace sherry::jit::a64 {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("The AArch64 paths require Advanced SIMD and the dot product") {
  const auto neon = isa_requirements(ir::Isa::kNeon);
  REQUIRE(neon.size() == 1);
  CHECK(neon[0] == CpuFeature::kAsimd);
  const auto dotprod = isa_requirements(ir::Isa::kDotprod);
  REQUIRE(dotprod.size() == 2);
  CHECK(dotprod[1] == CpuFeature::kDotprod);
  CHECK(ir::parse_isa("dotprod").value() == ir::Isa::kDotprod);
  CHECK(to_string(CpuFeature::kAsimd) == "asimd");
}

TEST_CASE("AArch64 keys resolve to the default row tile and reject what the path cannot run") {
  ir::KernelKey key = test::make_key(A64Path::kSdot, 64, 256, test::group_layout(128), 8);
  Result<ir::KernelKey> resolved = resolve_key(key);
  REQUIRE(resolved.ok());
  CHECK(resolved->tuning.row_tile == 16);
  CHECK(path_for(*resolved) == A64Path::kSdot);
  key.n_tile = 2;
  CHECK(path_for(key) == A64Path::kNeonLut);  // few tokens: the LUT kernel of the same path

  key.tuning.row_tile = 32;
  key.n_tile = 8;
  Result<ir::KernelKey> wide = resolve_key(key);
  REQUIRE_FALSE(wide.ok());
  CHECK(contains(wide.error().message(), "row tile 32 is not one of this path's (16)"));
  key.n_tile = 9;
  key.tuning.row_tile = 16;
  Result<ir::KernelKey> many = resolve_key(key);
  REQUIRE_FALSE(many.ok());
  CHECK(contains(many.error().message(), "9 tokens per call exceed this path's 8"));
}

#if defined(__aarch64__)

// Caps the ISA for one scope.
struct IsaCap {
  explicit IsaCap(ir::Isa isa) { set_max_isa(isa); }
  ~IsaCap() { set_max_isa(std::nullopt); }
};

void check_layer(ir::Isa cap, const std::string& expected_isa, ThreadPool* pool) {
  IsaCap capped(cap);
  const int64_t m = 53, k = 384;
  const PackedTensor w = sherry::test::random_packed(m, k, test::group_layout(128), 11);
  LinearOptions options;
  options.pool = pool;
  options.max_tokens = 16;
  Result<std::unique_ptr<Linear>> jit = make_linear(w.view(), options);
  REQUIRE_MESSAGE(jit.ok(), jit.error().message());
  INFO("kernels ", (*jit)->kernel_name());
  CHECK(contains((*jit)->kernel_name(), expected_isa));
  options.backend = KernelBackend::kReference;
  Result<std::unique_ptr<Linear>> reference = make_linear(w.view(), options);
  REQUIRE(reference.ok());
  for (const int64_t n : {1, 3, 4, 9, 17}) {
    const std::vector<float> x = sherry::test::random_floats(n * k, static_cast<uint32_t>(n));
    std::vector<float> got(static_cast<size_t>(n * m)), want(got.size());
    (*jit)->forward(x.data(), n, got.data());
    (*reference)->forward(x.data(), n, want.data());
    INFO("tokens ", n);
    CHECK(got == want);
  }
}

TEST_CASE("make_linear runs the AArch64 paths under every cap") {
  ThreadPool pool(2);
  REQUIRE(host_cpu().has(CpuFeature::kAsimd));
  if (host_cpu().has(CpuFeature::kDotprod)) check_layer(ir::Isa::kDotprod, "__dotprod_", &pool);
  check_layer(ir::Isa::kNeon, "__neon_", &pool);
  check_layer(ir::Isa::kNeon, "__neon_", nullptr);
  check_layer(ir::Isa::kScalar, "reference_i8", nullptr);
}

TEST_CASE("The kernel cache builds AArch64 kernels once") {
  const ir::KernelKey key = test::make_key(A64Path::kNeonLut, 16, 128, test::group_layout(128));
  Result<std::unique_ptr<Kernel>> kernel = build_kernel(key);
  REQUIRE_MESSAGE(kernel.ok(), kernel.error().message());
  CHECK((*kernel)->backend == &a64_backend());
  CHECK((*kernel)->name == "lutgemv_s125g128c_i16__neon_m16_k128_t16");
}

#else

TEST_CASE("AArch64 kernels are not cached on other hosts") {
  Result<std::unique_ptr<Kernel>> kernel =
      build_kernel(test::make_key(A64Path::kNeonLut, 16, 128, test::group_layout(128)));
  REQUIRE_FALSE(kernel.ok());
  CHECK(contains(kernel.error().message(), "runs only on an AArch64 host"));
}

#endif

}  // namespace
}  // namespace sherry::jit::a64
