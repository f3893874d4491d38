#include "tools/sherry-asm/asm_listing.h"

#include <Zydis/Zydis.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include <fmt/format.h>

#include "ir/lower.h"
#include "ir/printer.h"
#include "jit/a64/a64_listing.h"
#include "jit/a64/a64_paths.h"
#include "jit/kernel_build.h"
#include "runtime/gguf/sherry_tensors.h"

namespace sherry::tools {

std::string disassemble_x86_64(std::span<const uint8_t> code, size_t instruction_bytes) {
  std::string out;
  size_t offset = 0;
  const size_t end = instruction_bytes > 0 ? std::min(instruction_bytes, code.size()) : code.size();
  while (offset < end) {
    ZydisDisassembledInstruction instruction;
    const ZyanStatus status =
        ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, offset, code.data() + offset,
                              code.size() - offset, &instruction);
    const bool ok = ZYAN_SUCCESS(status);
    const size_t length = ok ? instruction.info.length : 1;
    std::string bytes;
    for (size_t i = 0; i < length && i < 12; ++i) bytes += fmt::format("{:02x}", code[offset + i]);
    out += fmt::format("  {:6x}  {:<24} {}\n", offset, bytes, ok ? instruction.text : "(bad)");
    offset += length;
    // Without a recorded length the constants start after the epilogue's ret: list them as data.
    if (instruction_bytes == 0 && ok && instruction.info.mnemonic == ZYDIS_MNEMONIC_RET) break;
  }
  if (offset < code.size()) out += fmt::format("  data ({} bytes):\n", code.size() - offset);
  for (; offset < code.size(); offset += 16) {
    std::string bytes;
    for (size_t i = offset; i < std::min(code.size(), offset + 16); ++i) {
      bytes += fmt::format("{:02x} ", code[i]);
    }
    out += fmt::format("  {:6x}  {}\n", offset, bytes);
  }
  return out;
}

Result<ir::Isa> choose_isa(std::string_view arch, std::string_view isa_name, ir::Isa best) {
  if (!arch.empty() && arch != "x86_64" && arch != "aarch64") {
    return make_error("--arch '{}': expected x86_64 or aarch64", arch);
  }
  ir::Isa isa = best;
  if (!isa_name.empty()) {
    Result<ir::Isa> parsed = ir::parse_isa(isa_name);
    if (!parsed.ok()) return parsed.error();
    isa = *parsed;
  } else if (arch == "aarch64") {
    isa = ir::Isa::kDotprod;
  } else if (arch == "x86_64" && jit::a64::is_a64_isa(isa)) {
    isa = ir::Isa::kAvx2;
  }
  const bool a64 = jit::a64::is_a64_isa(isa);
  if ((arch == "aarch64" && !a64 && isa != ir::Isa::kScalar) || (arch == "x86_64" && a64)) {
    return make_error(
        "--isa {} is not a path of --arch {} ({})", ir::to_string(isa), arch,
        arch == "aarch64" ? "neon or dotprod" : "ssse3, avx2, avx512bw or avx512vbmi");
  }
  return isa;
}

Result<std::string> asm_listing(const AsmRequest& request) {
  Result<ir::KernelKey> key = jit::resolve_kernel_key(request.key);
  if (!key.ok()) return key.error();
  std::string out = fmt::format("kernel {}\n", ir::kernel_name(*key));
  Result<ir::LoweringTarget> target = jit::kernel_lowering_target(*key);
  if (!target.ok()) return target.error();
  Result<ir::Program> program =
      ir::lower(*key, *target, [&](std::string_view step, const ir::Program& p) {
        if (request.trace) out += fmt::format("\n; after {}\n{}", step, ir::print_program(p));
      });
  if (!program.ok()) return program.error();
  if (!request.trace) out += fmt::format("\n{}", ir::print_program(*program));
  if (jit::a64::is_a64_isa(key->isa)) {
    Result<jit::a64::A64Kernel> a64 = jit::a64::build_for_listing(*key);
    if (!a64.ok()) return a64.error();
    out += jit::a64::a64_listing(*a64, request.disassemble);
    const std::vector<uint8_t>& bytes = a64->code().bytes;
    if (!request.raw_path.empty()) {
      std::FILE* f = std::fopen(request.raw_path.c_str(), "wb");
      if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
        if (f != nullptr) std::fclose(f);
        return make_error("{}: cannot write the {} code bytes of kernel {}", request.raw_path,
                          bytes.size(), a64->code().name);
      }
      std::fclose(f);
    }
    return out;
  }
  Result<std::unique_ptr<jit::Kernel>> kernel = jit::build_kernel(*key);
  if (!kernel.ok()) return kernel.error();
  const std::span<const uint8_t> code = (*kernel)->code_bytes();
  out += fmt::format("\ncode: {} bytes, jit {:.3f} ms\n", code.size(), (*kernel)->jit_ms);
  if (request.disassemble) out += disassemble_x86_64(code, (*kernel)->instruction_bytes);
  if (!request.raw_path.empty()) {
    std::FILE* f = std::fopen(request.raw_path.c_str(), "wb");
    if (f == nullptr || std::fwrite(code.data(), 1, code.size(), f) != code.size()) {
      if (f != nullptr) std::fclose(f);
      return make_error("{}: cannot write the {} code bytes of kernel {}", request.raw_path,
                        code.size(), (*kernel)->name);
    }
    std::fclose(f);
  }
  return out;
}

Result<ir::KernelKey> key_from_model(const std::string& path, const std::string& tensor) {
  Result<std::unique_ptr<gguf::Reader>> reader = gguf::Reader::open(path);
  if (!reader.ok()) return reader.error();
  Result<PackedTensorView> view = gguf::read_sherry_tensor(**reader, tensor);
  if (!view.ok()) return view.error();
  ir::KernelKey key;
  key.m = view->rows;
  key.k = view->cols;
  key.layout = view->layout;
  return key;
}

}  // namespace sherry::tools
