// Maps generated AArch64 code for execution: written into fresh read-write pages, then switched to
// read-execute (never writable and executable at once), with the instruction cache flushed.
// Only an AArch64 host can run it; elsewhere map() returns an Error (generation and listings still
// work on any host).
#pragma once

#include <cstddef>

#include "core/error.h"
#include "jit/a64/a64_code.h"

namespace sherry::jit::a64 {

// True when this process runs on AArch64 and can execute generated code.
constexpr bool host_is_aarch64() {
#if defined(__aarch64__)
  return true;
#else
  return false;
#endif
}

class A64Executable {
 public:
  static Result<A64Executable> map(const A64Code& code);

  A64Executable(A64Executable&& other) noexcept;
  A64Executable& operator=(A64Executable&& other) noexcept;
  A64Executable(const A64Executable&) = delete;
  A64Executable& operator=(const A64Executable&) = delete;
  ~A64Executable();

  template <class Fn>
  Fn* function() const {
    return reinterpret_cast<Fn*>(memory_);
  }

 private:
  A64Executable(void* memory, size_t size) : memory_(memory), size_(size) {}
  void* memory_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sherry::jit::a64
