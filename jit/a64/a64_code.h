// Generated AArch64 machine code and its named regions: what generators return, what the cache
// keeps, what sherry-asm prints. Free of asmjit so users of the code need not include it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sherry::jit::a64 {

// AArch64 instructions are 4 bytes each: offsets count instructions exactly.
inline constexpr int64_t kInstructionBytes = 4;

struct CodeMark {
  std::string name;
  int64_t begin = 0;  // byte offsets into the code
  int64_t end = 0;
  int64_t instructions() const { return (end - begin) / kInstructionBytes; }
};

// Generated AArch64 machine code, not yet executable (jit/a64/a64_executable.h maps it).
struct A64Code {
  std::string name;
  std::vector<uint8_t> bytes;
  std::string listing;  // asmjit's logger output; empty unless requested
  std::vector<CodeMark> marks;

  const CodeMark* mark(std::string_view mark_name) const;
};

}  // namespace sherry::jit::a64
