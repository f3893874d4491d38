#include "jit/code_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace sherry::jit {

CodeMemory::CodeMemory(CodeMemory&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

CodeMemory& CodeMemory::operator=(CodeMemory&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) munmap(base_, mapped_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

CodeMemory::~CodeMemory() {
  if (base_ != nullptr) munmap(base_, mapped_);
}

Result<CodeMemory> CodeMemory::create(std::span<const uint8_t> code, std::string_view name) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t mapped = (code.size() + page - 1) / page * page;
  void* base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    return make_error("kernel {}: mmap of {} bytes for code failed: {}", name, mapped,
                      std::strerror(errno));
  }
  std::memcpy(base, code.data(), code.size());
  if (mprotect(base, mapped, PROT_READ | PROT_EXEC) != 0) {
    const int error = errno;
    munmap(base, mapped);
    return make_error("kernel {}: mprotect to read+execute failed: {}", name, std::strerror(error));
  }
  CodeMemory memory;
  memory.base_ = base;
  memory.size_ = code.size();
  memory.mapped_ = mapped;
  return memory;
}

}  // namespace sherry::jit
