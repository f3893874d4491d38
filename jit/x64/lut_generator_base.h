// The base of the lookup (LUT) generators: the general registers by role and the walk over the
// kernel program that turns its loops into counted loops and its statements into calls of the
// family's hooks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "jit/x64/generator_base.h"

namespace sherry::jit::x64 {

class LutGeneratorBase : public GeneratorBase {
 public:
  using GeneratorBase::GeneratorBase;

 protected:
  // Statement hooks (tokens and rows of the tile implied).
  virtual void emit_zero_output() = 0;
  virtual void emit_init_accumulators() = 0;
  virtual void emit_lookup_accumulate(const ir::LookupAccumulate& lookup) = 0;  // one step
  virtual void emit_widen() = 0;
  virtual void emit_scale_group() = 0;
  virtual void emit_store_accumulators() = 0;
  virtual void emit_finish() = 0;
  // Stream pointers: at the first tile of a call (reg_tile holds it), at a group's start and
  // end, after each step. The defaults walk three tile-major arrays: the weights (one step at a
  // time), α and the initial accumulators (one row tile per group).
  virtual void emit_tile_streams();
  virtual void emit_group_begin() {}
  virtual void emit_group_end();
  virtual void emit_step_end();

  // reg = the KernelArgs pointer at `offset` + reg_tile · bytes_per_tile.
  void start_stream(const Xbyak::Reg64& reg, size_t offset, int64_t bytes_per_tile);

  // General registers by role.
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

 private:
  void emit_body() override { walk(program_.body); }
  void walk(const ir::Body& body);
  void emit_loop(const ir::Loop& loop);
  void emit_counted(const Xbyak::Reg64& counter, int64_t extent, const ir::Body& body);
  void emit_tile_loop(const ir::Loop& loop);
};

}  // namespace sherry::jit::x64
