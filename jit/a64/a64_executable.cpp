#include "jit/a64/a64_executable.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace sherry::jit::a64 {

Result<A64Executable> A64Executable::map(const A64Code& code) {
  if (!host_is_aarch64()) {
    return make_error("kernel {}: AArch64 code cannot run on this host (generate and list only)",
                      code.name);
  }
  if (code.bytes.empty()) return make_error("kernel {}: no code to map", code.name);
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t size = (code.bytes.size() + page - 1) / page * page;
  void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    return make_error("kernel {}: mmap of {} bytes failed: {}", code.name, size,
                      std::strerror(errno));
  }
  std::memcpy(memory, code.bytes.data(), code.bytes.size());
  if (mprotect(memory, size, PROT_READ | PROT_EXEC) != 0) {
    const int error = errno;
    munmap(memory, size);
    return make_error("kernel {}: mprotect to read-execute failed: {}", code.name,
                      std::strerror(error));
  }
  char* begin = static_cast<char*>(memory);
  __builtin___clear_cache(begin, begin + code.bytes.size());
  return A64Executable(memory, size);
}

A64Executable::A64Executable(A64Executable&& other) noexcept
    : memory_(std::exchange(other.memory_, nullptr)), size_(std::exchange(other.size_, 0)) {}

A64Executable& A64Executable::operator=(A64Executable&& other) noexcept {
  if (this != &other) {
    if (memory_ != nullptr) munmap(memory_, size_);
    memory_ = std::exchange(other.memory_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

A64Executable::~A64Executable() {
  if (memory_ != nullptr) munmap(memory_, size_);
}

}  // namespace sherry::jit::a64
