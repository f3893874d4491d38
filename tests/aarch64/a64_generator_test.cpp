// The generator base: constants of any size, marks, and asmjit errors turned into values.
#include <doctest/doctest.h>

#include <string>

#include "jit/a64/a64_generator.h"

namespace sherry::jit::a64 {
namespace {

using namespace asmjit::a64;  // NOLINT: register names read like assembly

class ProbeGenerator final : public A64Generator {
 public:
  ProbeGenerator() : A64Generator("probe", /*with_listing=*/true) {}

  Result<A64Code> constants() {
    prologue(32);
    begin_mark("body");
    mov_imm(x1, 0x1234'5678'9ABC'DEF0ULL);
    add_imm(x2, 5000, x17);
    add_imm(x2, 12, x17);
    end_mark("body");
    epilogue();
    return finish();
  }

  Result<A64Code> invalid() {
    // ld1 of four registers must name consecutive registers: asmjit refuses this one.
    as().ld1(v0.b16(), v2.b16(), v4.b16(), v6.b16(), ptr(x0));
    as().ret(x30);
    return finish();
  }
};

TEST_CASE("The generator base loads wide constants and marks regions") {
  ProbeGenerator generator;
  Result<A64Code> code = generator.constants();
  REQUIRE_MESSAGE(code.ok(), code.error().message());
  const CodeMark* body = code->mark("body");
  REQUIRE(body != nullptr);
  // movz + 3 movk, then mov + add for 5000, and one add for 12.
  CHECK(body->instructions() == 4 + 2 + 1);
  CHECK(code->listing.find("movk x1, 0x1234") != std::string::npos);
  CHECK(code->mark("missing") == nullptr);
}

TEST_CASE("An asmjit error becomes an error value naming the kernel") {
  ProbeGenerator generator;
  Result<A64Code> code = generator.invalid();
  REQUIRE_FALSE(code.ok());
  INFO("message: ", code.error().message());
  CHECK(code.error().message().find("generating AArch64 kernel probe: asmjit error") == 0);
}

}  // namespace
}  // namespace sherry::jit::a64
