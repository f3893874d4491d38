// The listing sherry-asm prints: a kernel key from a shape (or a model tensor), the IR after each
// lowering step or only the final one, and the disassembly of the generated code with its size.
// A library so tests/tools check it without a subprocess.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "ir/kernel_key.h"

namespace sherry::tools {

struct AsmRequest {
  ir::KernelKey key;        // isa, shape, layout, tuning, n_tile, output
  bool trace = false;       // print the IR after every lowering step
  bool disassemble = true;  // print the instructions
  std::string raw_path;     // write the code bytes here when not empty
};

// x86-64 instructions, one per line: offset, bytes, Intel syntax, up to the first ret; the
// bytes after it (the kernel's constants) as data. Undecodable bytes are listed as "(bad)" and
// skipped one at a time.
// Instructions up to `instruction_bytes` (0: up to the first ret), then the rest as data.
std::string disassemble_x86_64(std::span<const uint8_t> code, size_t instruction_bytes = 0);

// Errors: a key no generator serves (the message names the kernel), an unwritable raw file.
// AArch64 keys (neon, dotprod) are listed on any host: asmjit's listing and the loop
// instruction counts (jit/a64/a64_listing.h).
Result<std::string> asm_listing(const AsmRequest& request);

// The ISA of --arch and --isa: an empty isa_name means dotprod for aarch64, `best` otherwise
// (an x86 path when arch is x86_64). Errors: an unknown architecture or ISA, an ISA of the
// other architecture.
Result<ir::Isa> choose_isa(std::string_view arch, std::string_view isa_name, ir::Isa best);

// The key of a sherry tensor in a GGUF model. Errors name the file and the tensor.
Result<ir::KernelKey> key_from_model(const std::string& path, const std::string& tensor);

}  // namespace sherry::tools
