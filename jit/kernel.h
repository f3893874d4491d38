// A generated kernel as the front end sees it: its key, name, program and code, built by one
// backend (jit/backend.h) and run only through it. Kernels are immutable and shared (the kernel
// cache hands out shared_ptr<const Kernel>); each backend derives its own kernel type holding
// the layout and entry point it needs (jit/x64/x64_kernel.h, jit/a64/a64_backend.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ir/kernel_key.h"
#include "ir/program.h"

namespace sherry::jit {

class Backend;

struct Kernel {
  virtual ~Kernel() = default;

  const Backend* backend = nullptr;  // who built it and runs it
  ir::KernelKey key;                 // resolved
  std::string name;                  // ir::kernel_name(key)
  ir::Program program;
  double jit_ms = 0.0;  // lowering + emission + mapping (measured by build_kernel)
  // Bytes of instructions at the start of the code, before constants (0: not recorded; the
  // code's first return ends its instructions).
  size_t instruction_bytes = 0;

  // The machine code and where it runs (perf map, SHERRY_JIT_DUMP, tests).
  virtual std::span<const uint8_t> code_bytes() const = 0;
  virtual const void* code_address() const = 0;
};

}  // namespace sherry::jit
