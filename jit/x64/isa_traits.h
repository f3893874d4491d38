// Per-ISA traits the generators branch on (`if constexpr (Traits::kHasAvx512)`), never on an
// ISA ordering. Each trait says what the path's instructions can do.
#pragma once

#include <xbyak/xbyak.h>

#include "ir/kernel_key.h"

namespace sherry::jit::x64 {

struct Ssse3Traits {
  using Vmm = Xbyak::Xmm;
  static constexpr ir::Isa kIsa = ir::Isa::kSsse3;
  static constexpr int kVectorBytes = 16;
  static constexpr int kVectorRegisters = 16;
  static constexpr bool kHasAvx = false;  // VEX three-operand forms
  static constexpr bool kHasFma = false;
  static constexpr bool kHasAvx512 = false;
  static constexpr bool kHasVbmi = false;
};

struct Avx2Traits {
  using Vmm = Xbyak::Ymm;
  static constexpr ir::Isa kIsa = ir::Isa::kAvx2;
  static constexpr int kVectorBytes = 32;
  static constexpr int kVectorRegisters = 16;
  static constexpr bool kHasAvx = true;
  static constexpr bool kHasFma = true;
  static constexpr bool kHasAvx512 = false;
  static constexpr bool kHasVbmi = false;
};

struct Avx512bwTraits {
  using Vmm = Xbyak::Zmm;
  static constexpr ir::Isa kIsa = ir::Isa::kAvx512bw;
  static constexpr int kVectorBytes = 64;
  static constexpr int kVectorRegisters = 32;
  static constexpr bool kHasAvx = true;
  static constexpr bool kHasFma = true;
  static constexpr bool kHasAvx512 = true;
  static constexpr bool kHasVbmi = false;
};

// AVX2 with AVX-VNNI (VEX vpdpbusd on 256-bit vectors): the AVX2 lookup kernels, and the dot GEMM
// family on top.
struct Avx2VnniTraits : Avx2Traits {
  static constexpr ir::Isa kIsa = ir::Isa::kAvx2Vnni;
};

// AVX-512 VBMI (vpermi2b) with VNNI (vpdpbusd).
struct Avx512vbmiTraits {
  using Vmm = Xbyak::Zmm;
  static constexpr ir::Isa kIsa = ir::Isa::kAvx512vbmi;
  static constexpr int kVectorBytes = 64;
  static constexpr int kVectorRegisters = 32;
  static constexpr bool kHasAvx = true;
  static constexpr bool kHasFma = true;
  static constexpr bool kHasAvx512 = true;
  static constexpr bool kHasVbmi = true;
};

}  // namespace sherry::jit::x64
