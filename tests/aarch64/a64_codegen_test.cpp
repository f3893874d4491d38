// The AArch64 generators on any host (x86-64 included): programs lower and assemble, listings
// show the instructions of each path, instruction counts per step follow from the lowering, and
// every program the generators cannot emit comes back as an error naming the kernel.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/activation_quant.h"
#include "ir/lower.h"
#include "jit/a64/a64_executable.h"
#include "jit/a64/a64_kernel.h"
#include "jit/a64/a64_listing.h"
#include "jit/a64/a64_lut_gen.h"
#include "jit/a64/a64_sdot_gen.h"
#include "tests/aarch64/a64_test_util.h"
#include "tests/core/test_util.h"

namespace sherry::jit::a64 {
namespace {

using test::group_layout;
using test::make_key;

ir::Program lowered(const ir::KernelKey& key, const ir::LoweringTarget& target) {
  Result<ir::Program> program = ir::lower(key, target);
  REQUIRE_MESSAGE(program.ok(), program.error().message());
  return std::move(program).value();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void check_error(const Result<A64Code>& code, const std::string& part) {
  REQUIRE_FALSE(code.ok());
  INFO("message: ", code.error().message());
  CHECK(contains(code.error().message(), part));
}

// Finds the first statement of type T anywhere in a body and returns its parent body.
template <class T>
ir::Body* find_parent(ir::Body& body) {
  for (ir::Stmt& stmt : body) {
    if (std::holds_alternative<T>(stmt)) return &body;
    if (auto* loop = std::get_if<ir::Loop>(&stmt)) {
      if (ir::Body* found = find_parent<T>(loop->body)) return found;
    }
  }
  return nullptr;
}

ir::Loop* find_loop(ir::Body& body, ir::LoopKind kind) {
  for (ir::Stmt& stmt : body) {
    if (auto* loop = std::get_if<ir::Loop>(&stmt)) {
      if (loop->kind == kind) return loop;
      if (ir::Loop* found = find_loop(loop->body, kind)) return found;
    }
  }
  return nullptr;
}

TEST_CASE("The NEON LUT generator assembles tbl lookups with a listing on any host") {
  Result<A64Kernel> kernel =
      A64Kernel::build(make_key(A64Path::kNeonLut, 64, 256, group_layout(128)), A64Path::kNeonLut,
                       /*with_listing=*/true);
  REQUIRE_MESSAGE(kernel.ok(), kernel.error().message());
  const A64Code& code = kernel->code();
  CHECK(code.name == "lutgemv_s125g128c_i16__neon_m64_k256_t0");
  CHECK(code.bytes.size() % kInstructionBytes == 0);
  CHECK(contains(code.listing, "tbl v30.16b, v9.16b, v10.16b, v"));
  CHECK(contains(code.listing, "zip1"));
  CHECK(contains(code.listing, "saddw2"));
  CHECK(contains(code.listing, "cmtst"));
  CHECK(contains(code.listing, "ret x30"));
  CHECK(kernel->runnable() == host_is_aarch64());
}

TEST_CASE("The sdot generator assembles sdot by element and the tbx sign lookup") {
  Result<A64Kernel> kernel = A64Kernel::build(
      make_key(A64Path::kSdot, 48, 256, group_layout(128), 8), A64Path::kSdot, true);
  REQUIRE_MESSAGE(kernel.ok(), kernel.error().message());
  const std::string& listing = kernel->code().listing;
  CHECK(contains(listing, "sdot v0.4s, v16.16b, v20.4b[0]"));
  CHECK(contains(listing, "tbx"));
  CHECK(contains(listing, "adr x17"));
  CHECK(kernel->code().name == "lutgemm_s125g128c_i16__dotprod_m48_k256_n8_t0");
}

// Instructions per step, from the generator's structure: the counts the documentation quotes.
int64_t neon_step_instructions(int64_t sub_tiles, int64_t tokens) {
  return 2 * sub_tiles + 8 * (3 * sub_tiles + tokens * (1 + 6 * sub_tiles)) + 2;
}

TEST_CASE("NEON LUT steps cost what the lowering predicts per 4-weight block") {
  struct Case {
    int64_t row_tile, tokens;
  };
  for (const Case c : {Case{16, 1}, Case{32, 1}, Case{16, 2}, Case{16, 4}}) {
    ir::KernelKey key = make_key(A64Path::kNeonLut, 100, 512, group_layout(128), c.tokens);
    key.tuning.row_tile = c.row_tile;
    Result<A64Kernel> kernel = A64Kernel::build(key, A64Path::kNeonLut);
    REQUIRE_MESSAGE(kernel.ok(), kernel.error().message());
    const CodeMark* step = kernel->code().mark("step");
    REQUIRE(step != nullptr);
    INFO("kernel ", kernel->code().name);
    CHECK(step->instructions() == neon_step_instructions(c.row_tile / 16, c.tokens));
  }
}

TEST_CASE("sdot decode and dot-product steps cost what the lowering predicts") {
  Result<A64Kernel> kernel =
      A64Kernel::build(make_key(A64Path::kSdot, 32, 256, group_layout(128), 6), A64Path::kSdot);
  REQUIRE_MESSAGE(kernel.ok(), kernel.error().message());
  const A64Code& code = kernel->code();
  const CodeMark* decode = code.mark("decode");
  const CodeMark* full = code.mark("sdot_4_tokens");
  const CodeMark* tail = code.mark("sdot_2_tokens");
  REQUIRE(decode != nullptr);
  REQUIRE(full != nullptr);
  REQUIRE(tail != nullptr);
  // Per block: shift, and, sign (2, or 1 for block 7), bit, 3 orr, 4 × (tbl, tbl, sub, tbx), st1.
  CHECK(decode->instructions() == 2 + 8 * 25 - 1 + 2);
  // Per token: one load; a pointer step to the next token block; per block a weight load and
  // 4 sdot per token; the loop.
  CHECK(full->instructions() == 4 + 1 + 8 * (1 + 4 * 4) + 2);
  CHECK(tail->instructions() == 2 + 1 + 8 * (1 + 4 * 2) + 2);
}

TEST_CASE("The NEON LUT generator rejects programs it cannot emit") {
  const ir::KernelKey key = make_key(A64Path::kNeonLut, 40, 256, group_layout(128));

  SUBCASE("a tile and token count beyond the register file") {
    ir::KernelKey gemm = make_key(A64Path::kNeonLut, 40, 256, group_layout(128), 2);
    gemm.tuning.row_tile = 32;
    check_error(generate_neon_lut(lowered(gemm, neon_lut_target()), false),
                "exceeds the 32 NEON registers");
  }
  SUBCASE("a program lowered for another step") {
    check_error(generate_neon_lut(lowered(key, ir::scalar_target()), false),
                "needs a row tile multiple of 16 and 8-block steps");
  }
  SUBCASE("tables built without the sign folded") {
    ir::LoweringTarget target = neon_lut_target();
    target.lookup = ir::LookupMode::kSignAfterLookup;
    check_error(generate_neon_lut(lowered(key, target), false), "looks up folded tables");
  }
  SUBCASE("int32 lookups") {
    ir::LoweringTarget target = neon_lut_target();
    target.accumulate_i16 = false;
    check_error(generate_neon_lut(lowered(key, target), false), "emits folded int16 lookups");
  }
  SUBCASE("a step holding something else") {
    ir::Program program = lowered(key, neon_lut_target());
    find_loop(program.body, ir::LoopKind::kStep)->body.push_back(ir::Widen{});
    check_error(generate_neon_lut(program, false), "a step must hold one token loop");
  }
  SUBCASE("a host-side statement inside the kernel") {
    ir::Program program = lowered(key, neon_lut_target());
    find_parent<ir::InitAccumulators>(program.body)->push_back(ir::PermuteActivations{});
    check_error(generate_neon_lut(program, false), "PermuteActivations is part of the host-side");
    program = lowered(key, neon_lut_target());
    find_parent<ir::InitAccumulators>(program.body)->push_back(ir::BuildTables{});
    check_error(generate_neon_lut(program, false), "BuildTables is part of the host-side");
  }
  SUBCASE("a lookup outside a step") {
    ir::Program program = lowered(key, neon_lut_target());
    find_parent<ir::InitAccumulators>(program.body)
        ->push_back(ir::LookupAccumulate{ir::LookupMode::kSignFolded, ir::AccWidth::kI16});
    check_error(generate_neon_lut(program, false), "LookupAccumulate outside a step");
  }
  SUBCASE("a token loop inside a tile but outside a step") {
    ir::Program program = lowered(key, neon_lut_target());
    find_parent<ir::InitAccumulators>(program.body)
        ->push_back(ir::Loop{ir::LoopKind::kToken, 1, {}});
    check_error(generate_neon_lut(program, false), "token loop outside a step");
  }
  SUBCASE("an empty loop") {
    ir::Program program = lowered(key, neon_lut_target());
    find_loop(program.body, ir::LoopKind::kGroup)->extent = 0;
    check_error(generate_neon_lut(program, false), "empty group loop");
  }
  SUBCASE("Finish in an accumulator kernel") {
    ir::Program program = lowered(
        make_key(A64Path::kNeonLut, 40, 256, group_layout(128), 1, ir::OutputMode::kAccumulators),
        neon_lut_target());
    find_loop(program.body, ir::LoopKind::kTile)->body.push_back(ir::Finish{});
    check_error(generate_neon_lut(program, false), "Finish in an accumulator kernel");
  }
}

TEST_CASE("The sdot generator rejects programs it cannot emit") {
  const ir::KernelKey key = make_key(A64Path::kSdot, 40, 256, group_layout(128), 4);

  SUBCASE("a tuned row tile other than 16") {
    ir::KernelKey wide = key;
    wide.tuning.row_tile = 32;
    check_error(generate_sdot(lowered(wide, sdot_target()), false),
                "needs 16-row tiles, 8-block steps and no widening");
  }
  SUBCASE("a group with widening chunks") {
    check_error(generate_sdot(lowered(key, neon_lut_target()), false),
                "a group must accumulate one step loop of lookups");
  }
  SUBCASE("int16 lookups") {
    ir::Program program = lowered(key, neon_lut_target());
    ir::Loop* chunk = find_loop(program.body, ir::LoopKind::kChunk);
    chunk->body.pop_back();  // the Widen
    check_error(generate_sdot(program, false), "accumulates in int32, the program asks for i16");
  }
  SUBCASE("statements out of place") {
    ir::Program program = lowered(key, sdot_target());
    find_loop(program.body, ir::LoopKind::kTile)->body.push_back(ir::InitAccumulators{});
    check_error(generate_sdot(program, false),
                "InitAccumulators where the sdot lowering does not expect it");
    program = lowered(key, sdot_target());
    find_loop(program.body, ir::LoopKind::kTile)
        ->body.push_back(ir::Loop{ir::LoopKind::kStep, 1, {}});
    check_error(generate_sdot(program, false), "a chunk or step loop outside a group");
  }
  SUBCASE("Finish in an accumulator kernel") {
    ir::Program program = lowered(
        make_key(A64Path::kSdot, 40, 256, group_layout(128), 4, ir::OutputMode::kAccumulators),
        sdot_target());
    find_loop(program.body, ir::LoopKind::kTile)->body.push_back(ir::Finish{});
    check_error(generate_sdot(program, false), "Finish in an accumulator kernel");
  }
}

TEST_CASE("Building a kernel reports the lowering's errors with the kernel name") {
  ir::KernelKey key = make_key(A64Path::kNeonLut, 40, 256, group_layout(128));
  key.tuning.row_tile = 24;
  Result<A64Kernel> kernel = A64Kernel::build(key, A64Path::kNeonLut);
  REQUIRE_FALSE(kernel.ok());
  CHECK(contains(kernel.error().message(), "row tile 24 is not a multiple of 16"));
  CHECK(contains(kernel.error().message(), "__neon_m40_k256"));
}

TEST_CASE("Running a kernel checks the shapes of weights and activations") {
  const ir::KernelKey key = make_key(A64Path::kNeonLut, 40, 256, group_layout(128));
  Result<A64Kernel> kernel = A64Kernel::build(key, A64Path::kNeonLut);
  REQUIRE(kernel.ok());
  const PackedTensor w = sherry::test::random_packed(40, 256, group_layout(128), 1);
  const PackedTensor other = sherry::test::random_packed(48, 256, group_layout(128), 1);
  const std::vector<float> xf = sherry::test::random_floats(256, 2);
  const QuantizedActivations x = quantize_activations_i8(xf.data(), 1, 256);
  const QuantizedActivations two =
      quantize_activations_i8(sherry::test::random_floats(512, 3).data(), 2, 256);

  Result<ir::InterpreterResult> bad_w = run_a64_kernel(*kernel, other.view(), x);
  REQUIRE_FALSE(bad_w.ok());
  CHECK(contains(bad_w.error().message(), "weights are 48 x 256, the kernel expects 40 x 256"));
  Result<ir::InterpreterResult> bad_x = run_a64_kernel(*kernel, w.view(), two);
  REQUIRE_FALSE(bad_x.ok());
  CHECK(contains(bad_x.error().message(), "activations are 2 tokens x 256 cols"));
  if (!host_is_aarch64()) {
    Result<ir::InterpreterResult> elsewhere = run_a64_kernel(*kernel, w.view(), x);
    REQUIRE_FALSE(elsewhere.ok());
    CHECK(contains(elsewhere.error().message(), "AArch64 code cannot run on this host"));
    Result<A64Executable> mapped = A64Executable::map(kernel->code());
    REQUIRE_FALSE(mapped.ok());
    CHECK(contains(mapped.error().message(), "cannot run on this host"));
  } else {
    Result<A64Executable> empty = A64Executable::map(A64Code{"empty", {}, {}, {}});
    REQUIRE_FALSE(empty.ok());
    CHECK(contains(empty.error().message(), "kernel empty: no code to map"));
  }
}

}  // namespace
}  // namespace sherry::jit::a64

namespace sherry::jit::a64 {
namespace {

TEST_CASE("The sherry-asm listing gives instruction counts per 4-weight block") {
  Result<A64Kernel> neon =
      build_for_listing(test::make_key(A64Path::kNeonLut, 64, 256, test::group_layout(128)));
  REQUIRE_MESSAGE(neon.ok(), neon.error().message());
  const std::string listing = a64_listing(*neon, /*with_code=*/true);
  CHECK(contains(listing, "(neon path, AArch64, asmjit)"));
  CHECK(contains(listing, "loop step: 84 instructions per iteration, 0.656 per 4-weight block"));
  CHECK(contains(listing, "tbl v30.16b"));

  Result<A64Kernel> dotprod =
      build_for_listing(test::make_key(A64Path::kSdot, 64, 256, test::group_layout(128), 8));
  REQUIRE_MESSAGE(dotprod.ok(), dotprod.error().message());
  const std::string sdot = a64_listing(*dotprod, /*with_code=*/false);
  CHECK(contains(sdot, "(dotprod path, AArch64, asmjit)"));
  CHECK(contains(sdot, "loop decode: 203 instructions per iteration, 1.586 per 4-weight block"));
  CHECK(contains(sdot,
                 "loop sdot_4_tokens: 143 instructions per iteration, 1.117 per 4-weight "
                 "block, 0.279 per block and token"));
  CHECK_FALSE(contains(sdot, "tbx v"));

  ir::KernelKey bad = test::make_key(A64Path::kNeonLut, 64, 256, test::group_layout(128));
  bad.tuning.row_tile = 24;
  Result<A64Kernel> rejected = build_for_listing(bad);
  REQUIRE_FALSE(rejected.ok());
  CHECK(contains(rejected.error().message(), "row tile 24 is not one of this path's (16 or 32)"));
}

}  // namespace
}  // namespace sherry::jit::a64
