#include "jit/x64/generator_base.h"

namespace sherry::jit::x64 {
namespace {

const Xbyak::Reg64 kCalleeSaved[] = {Xbyak::util::rbx, Xbyak::util::rbp, Xbyak::util::r12,
                                     Xbyak::util::r13, Xbyak::util::r14, Xbyak::util::r15};

}  // namespace

GeneratorBase::GeneratorBase(const ir::Program& program, const KernelLayout& layout,
                             uint8_t* buffer, size_t capacity)
    : Xbyak::CodeGenerator(capacity, buffer), program_(program), layout_(layout) {}

void GeneratorBase::generate() {
  for (const Xbyak::Reg64& reg : kCalleeSaved) push(reg);
  mov(reg_frame, rsp);
  const int64_t scratch = (scratch_bytes() + 63) / 64 * 64;
  if (scratch > 0) {
    sub(rsp, static_cast<uint32_t>(scratch));
    and_(rsp, -64);
  }
  mov(reg_scratch, rsp);
  emit_setup();
  emit_body();
  mov(rsp, reg_frame);
  for (int i = static_cast<int>(std::size(kCalleeSaved)) - 1; i >= 0; --i) pop(kCalleeSaved[i]);
  if (uses_vex()) vzeroupper();  // avoid SSE transition penalties in the caller
  ret();
  emit_subroutines();
  data_offset_ = getSize();
  emit_constants();
}

}  // namespace sherry::jit::x64
