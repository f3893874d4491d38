// The thin base of every AArch64 generator: an asmjit a64::Assembler configured for AArch64 Linux
// (it assembles on any host, x86-64 included), an optional listing through asmjit's logger, the
// AAPCS64 prologue/epilogue, and marks that name code offsets (loop bodies) so instruction counts
// come from the generated code itself. asmjit reports errors through a handler; the first one is
// kept and finish() turns it into an Error naming the kernel.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// Debian's libasmjit-dev ships no <asmjit/a64.h> umbrella header: include the parts.
#include <asmjit/arm/a64assembler.h>
#include <asmjit/arm/a64operand.h>
#include <asmjit/core.h>

#include "core/error.h"
#include "jit/a64/a64_code.h"

namespace sherry::jit::a64 {

class A64Generator {
 public:
  A64Generator(std::string name, bool with_listing);
  virtual ~A64Generator();
  A64Generator(const A64Generator&) = delete;
  A64Generator& operator=(const A64Generator&) = delete;

 protected:
  asmjit::a64::Assembler& as() { return *assembler_; }

  // Saves the callee-saved registers a kernel may use (x19..x28 are left alone: kernels use
  // x0..x17 only) and reserves `scratch_bytes` (rounded to 16) of stack, addressed from sp.
  void prologue(int64_t scratch_bytes);
  void epilogue();  // undoes prologue() and returns

  // Loads any 64-bit constant (movz/movk).
  void mov_imm(const asmjit::a64::GpX& reg, uint64_t value);
  // reg += value for any non-negative value (add immediate, or through `tmp`).
  void add_imm(const asmjit::a64::GpX& reg, int64_t value, const asmjit::a64::GpX& tmp);

  // sdot acc.4s, w.16b, x.4b[lane]. asmjit encodes it right but its logger cannot format the
  // indexed 4b operand, so the listing line is written here.
  void sdot_lane(const asmjit::a64::Vec& acc, const asmjit::a64::Vec& w, const asmjit::a64::Vec& x,
                 uint32_t lane);

  // Opens and closes a named code region (both at the current offset).
  void begin_mark(std::string name);
  void end_mark(std::string_view name);

  // Assembles everything emitted so far into code; reports the first asmjit error.
  Result<A64Code> finish();

  const std::string& name() const { return name_; }

 private:
  class ErrorCollector;
  std::string name_;
  int64_t frame_bytes_ = 0;
  std::unique_ptr<asmjit::CodeHolder> code_;
  std::unique_ptr<asmjit::StringLogger> logger_;
  std::unique_ptr<ErrorCollector> errors_;
  std::unique_ptr<asmjit::a64::Assembler> assembler_;
  std::vector<CodeMark> marks_;
};

}  // namespace sherry::jit::a64
