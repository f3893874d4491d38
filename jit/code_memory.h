// Executable memory for one generated kernel, never writable and executable at once: the bytes
// are written into a fresh read-write mapping, which is then switched to read-execute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.h"

namespace sherry::jit {

class CodeMemory {
 public:
  CodeMemory() = default;
  CodeMemory(CodeMemory&& other) noexcept;
  CodeMemory& operator=(CodeMemory&& other) noexcept;
  CodeMemory(const CodeMemory&) = delete;
  CodeMemory& operator=(const CodeMemory&) = delete;
  ~CodeMemory();

  // Errors: mmap or mprotect failing (with errno's text).
  static Result<CodeMemory> create(std::span<const uint8_t> code, std::string_view name);

  const uint8_t* data() const { return static_cast<const uint8_t*>(base_); }
  size_t size() const { return size_; }

 private:
  void* base_ = nullptr;
  size_t size_ = 0;    // bytes of code
  size_t mapped_ = 0;  // bytes mapped (whole pages)
};

}  // namespace sherry::jit
