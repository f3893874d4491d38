// sherry-asm's AArch64 side, on any host: --arch and --isa resolve to an AArch64 path, the
// listing holds the IR, asmjit's instructions and the loop counts, --raw writes the code.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/aarch64/a64_test_util.h"
#include "tools/sherry-asm/asm_listing.h"

namespace sherry::tools {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("--arch aarch64 picks the AArch64 paths") {
  CHECK(choose_isa("aarch64", "", ir::Isa::kAvx512vbmi).value() == ir::Isa::kDotprod);
  CHECK(choose_isa("aarch64", "neon", ir::Isa::kAvx2).value() == ir::Isa::kNeon);
  CHECK(choose_isa("x86_64", "", ir::Isa::kDotprod).value() == ir::Isa::kAvx2);
  CHECK(choose_isa("", "", ir::Isa::kNeon).value() == ir::Isa::kNeon);

  Result<ir::Isa> arch = choose_isa("riscv64", "", ir::Isa::kAvx2);
  REQUIRE_FALSE(arch.ok());
  CHECK(arch.error().message() == "--arch 'riscv64': expected x86_64 or aarch64");
  Result<ir::Isa> crossed = choose_isa("aarch64", "avx2", ir::Isa::kAvx2);
  REQUIRE_FALSE(crossed.ok());
  CHECK(crossed.error().message() ==
        "--isa avx2 is not a path of --arch aarch64 (neon or dotprod)");
  Result<ir::Isa> other = choose_isa("x86_64", "neon", ir::Isa::kAvx2);
  REQUIRE_FALSE(other.ok());
  CHECK(contains(other.error().message(), "--isa neon is not a path of --arch x86_64"));
  CHECK_FALSE(choose_isa("aarch64", "sve", ir::Isa::kAvx2).ok());
}

TEST_CASE("sherry-asm lists AArch64 kernels with their IR and loop counts on any host") {
  AsmRequest request;
  request.key = jit::a64::test::make_key(jit::a64::A64Path::kNeonLut, 2048, 2048, WeightLayout{});
  request.raw_path = "/tmp/sherry_a64_asm_test.bin";
  Result<std::string> listing = asm_listing(request);
  REQUIRE_MESSAGE(listing.ok(), listing.error().message());
  CHECK(contains(*listing, "kernel lutgemv_s125g128c_i16__neon_m2048_k2048_t16"));
  CHECK(contains(*listing, "lookup_accumulate sign_folded i16 (16 rows x 8 blocks)"));
  CHECK(contains(*listing, "loop step: 84 instructions per iteration"));
  CHECK(contains(*listing, "cmtst v29.16b, v17.16b, v2.16b"));
  std::ifstream raw(request.raw_path, std::ios::binary | std::ios::ate);
  REQUIRE(raw.good());
  CHECK(raw.tellg() % 4 == 0);
  CHECK(raw.tellg() > 400);
  std::remove(request.raw_path.c_str());

  request.raw_path = "/nonexistent-dir/kernel.bin";
  Result<std::string> unwritable = asm_listing(request);
  REQUIRE_FALSE(unwritable.ok());
  CHECK(contains(unwritable.error().message(), "/nonexistent-dir/kernel.bin: cannot write the"));

  request.raw_path.clear();
  request.key.tuning.row_tile = 48;
  Result<std::string> bad = asm_listing(request);
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.error().message(), "row tile 48 is not one of this path's"));
}

}  // namespace
}  // namespace sherry::tools
