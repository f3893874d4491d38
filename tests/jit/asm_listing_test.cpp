// sherry-asm's listing: name, IR, disassembly, raw bytes, and its errors.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "runtime/gguf/sherry_tensors.h"
#include "tests/jit/jit_test_util.h"
#include "tools/sherry-asm/asm_listing.h"

namespace sherry::tools {
namespace {

AsmRequest request_for(ir::Isa isa) {
  AsmRequest request;
  request.key.isa = isa;
  request.key.m = 256;
  request.key.k = 512;
  return request;
}

TEST_CASE("the listing names the kernel and shows its IR and instructions") {
  for (const ir::Isa isa :
       {ir::Isa::kSsse3, ir::Isa::kAvx2, ir::Isa::kAvx512bw, ir::Isa::kAvx512vbmi}) {
    Result<std::string> listing = asm_listing(request_for(isa));
    REQUIRE_MESSAGE(listing.ok(), listing.error().message());
    const std::string name = fmt::format("lutgemv_s125g128c_i16__{}_m256_k512", ir::to_string(isa));
    CHECK(listing->find(fmt::format("kernel {}", name)) != std::string::npos);
    CHECK(listing->find("lookup_accumulate") != std::string::npos);
    CHECK(listing->find("code: ") != std::string::npos);
    CHECK(listing->find("ret") != std::string::npos);
    CHECK(listing->find("(bad)") == std::string::npos);
    CHECK(listing->find("data (") != std::string::npos);
    const char* lookup = isa == ir::Isa::kAvx512vbmi ? "vpermb"
                         : isa == ir::Isa::kSsse3    ? "pshufb"
                                                     : "vpshufb";
    CHECK_MESSAGE(listing->find(lookup) != std::string::npos, name);
  }
}

TEST_CASE("a dot kernel's listing shows its decode and its dot products") {
  AsmRequest request = request_for(ir::Isa::kAvx512vbmi);
  request.key.op = ir::KernelOp::kDotGemm;
  request.key.n_tile = 64;
  Result<std::string> listing = asm_listing(request);
  REQUIRE_MESSAGE(listing.ok(), listing.error().message());
  CHECK(listing->find("kernel dotgemm_s125g128c__avx512vbmi_m256_k512_n64_t64") !=
        std::string::npos);
  for (const char* text : {"decode_weights", "dot_accumulate", "vpermi2b", "vpdpbusd",
                           "vpbroadcastd", "call", "(bad)"}) {
    INFO(std::string(text));
    CHECK((listing->find(text) != std::string::npos) == (std::string(text) != "(bad)"));
  }
}

TEST_CASE("the trace prints the IR after every lowering step") {
  AsmRequest request = request_for(ir::Isa::kAvx2);
  request.trace = true;
  request.disassemble = false;
  Result<std::string> listing = asm_listing(request);
  REQUIRE(listing.ok());
  for (const char* step :
       {"; after naive", "; after tile_rows", "; after step_blocks", "; after accumulate_i16"}) {
    CHECK(listing->find(step) != std::string::npos);
  }
  CHECK(listing->find("vpshufb") == std::string::npos);
}

TEST_CASE("the raw option writes exactly the code bytes") {
  AsmRequest request = request_for(ir::Isa::kAvx512vbmi);
  request.raw_path = fmt::format("/tmp/sherry_asm_test_{}.bin", getpid());
  Result<std::string> listing = asm_listing(request);
  REQUIRE(listing.ok());
  std::ifstream raw(request.raw_path, std::ios::binary | std::ios::ate);
  const auto size = static_cast<long long>(raw.tellg());
  CHECK(listing->find(fmt::format("code: {} bytes", size)) != std::string::npos);
  std::remove(request.raw_path.c_str());
  request.raw_path = "/nonexistent-dir/x.bin";
  Result<std::string> failed = asm_listing(request);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message().find("/nonexistent-dir/x.bin: cannot write") != std::string::npos);
}

TEST_CASE("a key no generator serves and a missing model are errors") {
  AsmRequest request = request_for(ir::Isa::kAvx2);
  request.key.n_tile = 99;
  Result<std::string> listing = asm_listing(request);
  REQUIRE_FALSE(listing.ok());
  CHECK(listing.error().message().find("n_tile 99") != std::string::npos);
  Result<ir::KernelKey> key = key_from_model("/nonexistent/model.gguf", "blk.0.attn_q.weight");
  REQUIRE_FALSE(key.ok());
  CHECK(key.error().message().find("/nonexistent/model.gguf") != std::string::npos);
}

TEST_CASE("a model tensor gives the kernel key of its shape and layout") {
  const WeightLayout layout{BlockGrouping::kStride16, ScaleGranularity::kGroup, 256};
  const PackedTensor w = sherry::test::random_packed(96, 512, layout, 3);
  gguf::Writer writer;
  REQUIRE(gguf::add_sherry_tensor(writer, "blk.0.attn_q.weight", w.view()).ok());
  const std::string path = fmt::format("/tmp/sherry_asm_model_{}.gguf", getpid());
  REQUIRE(writer.write(path).ok());
  Result<ir::KernelKey> key = key_from_model(path, "blk.0.attn_q.weight");
  REQUIRE_MESSAGE(key.ok(), key.error().message());
  CHECK(key->m == 96);
  CHECK(key->k == 512);
  CHECK(key->layout == layout);
  Result<ir::KernelKey> missing = key_from_model(path, "blk.9.attn_q.weight");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message().find("blk.9.attn_q.weight") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("undecodable bytes are listed and skipped") {
  const uint8_t bytes[] = {0x06, 0xc3, 0x0f, 0x0f};
  const std::string text = disassemble_x86_64(bytes);
  CHECK(text.find("(bad)") != std::string::npos);
  CHECK(text.find("ret") != std::string::npos);
  CHECK(text.find("data (2 bytes)") != std::string::npos);
}

}  // namespace
}  // namespace sherry::tools
