// The thin base of every x86-64 generator: preamble/postamble (callee-saved registers, 64-byte
// aligned stack scratch), the kernel arguments read with offsetof, and three hooks: setup,
// body, constants (emitted after the epilogue). Xbyak reports errors by exception; the backend
// (x64_backend.cpp) catches them at the boundary. The lookup families walk the kernel program
// (lut_generator_base.h); the dot family emits its own loop nest (dot_gemm_gen.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include <xbyak/xbyak.h>

#include "ir/program.h"
#include "jit/x64/x64_kernel.h"

namespace sherry::jit::x64 {

class GeneratorBase : public Xbyak::CodeGenerator {
 public:
  GeneratorBase(const ir::Program& program, const KernelLayout& layout, uint8_t* buffer,
                size_t capacity);
  virtual ~GeneratorBase() = default;

  // Emits the whole kernel into the buffer.
  void generate();
  // Bytes of instructions (preamble, body, epilogue, subroutines) before the constants.
  size_t data_offset() const { return data_offset_; }

 protected:
  virtual void emit_setup() = 0;      // constants into registers, once
  virtual void emit_body() = 0;       // everything between the preamble and the epilogue
  virtual void emit_subroutines() {}  // code after the epilogue (called, never fallen into)
  virtual void emit_constants() = 0;  // data after the epilogue and the subroutines
  // Bytes of 64-byte aligned stack scratch the family needs, addressed from reg_scratch.
  virtual int64_t scratch_bytes() const { return 0; }
  virtual bool uses_vex() const = 0;

  Xbyak::Address arg(size_t offset) { return ptr[reg_args + static_cast<int>(offset)]; }
  int64_t tokens() const { return program_.shape.n_tile; }
  int64_t row_tile() const { return layout_.row_tile; }
  bool float_output() const { return program_.key.output == ir::OutputMode::kFloat; }

  const ir::Program& program_;
  const KernelLayout layout_;

  const Xbyak::Reg64 reg_args = rdi;     // const KernelArgs*
  const Xbyak::Reg64 reg_scratch = rsi;  // 64-byte aligned stack scratch
  const Xbyak::Reg64 reg_frame = rbp;    // caller's stack pointer after the pushes

 private:
  size_t data_offset_ = 0;
};

}  // namespace sherry::jit::x64
