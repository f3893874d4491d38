// The thin base of every x86-64 generator: preamble/postamble, the general registers by role,
// the kernel arguments read with offsetof, and the walk over the kernel program that turns its
// loops into counted loops and its statements into calls of the family's hooks. Families emit
// their constants after the epilogue. Xbyak reports errors by exception; the backend
// (x64_backend.cpp) catches them at the boundary.
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

 protected:
  // Statement hooks (tokens and rows of the tile implied).
  virtual void emit_setup() = 0;  // constants into registers, once
  virtual void emit_zero_output() = 0;
  virtual void emit_init_accumulators() = 0;
  virtual void emit_lookup_accumulate(const ir::LookupAccumulate& lookup) = 0;  // one step
  virtual void emit_widen() = 0;
  virtual void emit_scale_group() = 0;
  virtual void emit_store_accumulators() = 0;
  virtual void emit_finish() = 0;
  virtual void emit_constants() = 0;  // data after the epilogue
  // Stream pointers: at the first tile of a call (reg_tile holds it), at a group's start and
  // end, after each step. The defaults walk three tile-major arrays: the weights (one step at a
  // time), α and the initial accumulators (one row tile per group).
  virtual void emit_tile_streams();
  virtual void emit_group_begin() {}
  virtual void emit_group_end();
  virtual void emit_step_end();
  // Bytes of 64-byte aligned stack scratch the family needs, addressed from reg_scratch.
  virtual int64_t scratch_bytes() const { return 0; }
  virtual bool uses_vex() const = 0;

  Xbyak::Address arg(size_t offset) { return ptr[reg_args + static_cast<int>(offset)]; }
  // reg = the KernelArgs pointer at `offset` + reg_tile · bytes_per_tile.
  void start_stream(const Xbyak::Reg64& reg, size_t offset, int64_t bytes_per_tile);
  int64_t tokens() const { return program_.shape.n_tile; }
  int64_t row_tile() const { return layout_.row_tile; }
  bool float_output() const { return program_.key.output == ir::OutputMode::kFloat; }

  const ir::Program& program_;
  const KernelLayout layout_;

  // General registers by role.
  const Xbyak::Reg64 reg_args = rdi;      // const KernelArgs*
  const Xbyak::Reg64 reg_weights = r8;    // weight stream of the current tile and step
  const Xbyak::Reg64 reg_tables = r9;     // tables of token 0 at the current step
  const Xbyak::Reg64 reg_alpha = r10;     // α of the current tile and group
  const Xbyak::Reg64 reg_nneg = r11;      // negative counts of the current tile and group
  const Xbyak::Reg64 reg_out = r12;       // output of token 0 at the current tile
  const Xbyak::Reg64 reg_acc_out = r13;   // accumulator output of the current group
  const Xbyak::Reg64 reg_tile = r14;      // current row tile
  const Xbyak::Reg64 reg_tile_end = r15;  // one past the last row tile of this call
  const Xbyak::Reg64 reg_group = rbx;     // loop counters
  const Xbyak::Reg64 reg_chunk = rcx;
  const Xbyak::Reg64 reg_step = rdx;
  const Xbyak::Reg64 reg_tmp = rax;
  const Xbyak::Reg64 reg_scratch = rsi;  // 64-byte aligned stack scratch
  const Xbyak::Reg64 reg_frame = rbp;    // caller's stack pointer after the pushes

 private:
  void walk(const ir::Body& body);
  void emit_loop(const ir::Loop& loop);
  void emit_counted(const Xbyak::Reg64& counter, int64_t extent, const ir::Body& body);
  void emit_tile_loop(const ir::Loop& loop);
};

}  // namespace sherry::jit::x64
