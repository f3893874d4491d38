// A fixed-size, 64-byte aligned, zero-initialised array (repacked weights, tables, outputs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include <sys/mman.h>

namespace sherry::jit {

// Under AddressSanitizer every buffer comes from the allocator, so overruns of the large ones
// are reported too (a mapping of our own has no redzones).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kMapLarge = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kMapLarge = false;
#else
inline constexpr bool kMapLarge = true;
#endif
#else
inline constexpr bool kMapLarge = true;
#endif

template <class T>
class AlignedBuffer {
 public:
  static constexpr size_t kHugePage = size_t{2} << 20;
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t count) { resize(count); }
  AlignedBuffer(AlignedBuffer&&) noexcept = default;
  AlignedBuffer& operator=(AlignedBuffer&&) noexcept = default;
  // A copy is a new buffer (its own alignment and huge pages) with the same contents.
  AlignedBuffer(const AlignedBuffer& other) : AlignedBuffer(other.size_) {
    if (size_ != 0) std::memcpy(data(), other.data(), size_ * sizeof(T));
  }
  AlignedBuffer& operator=(const AlignedBuffer& other) {
    if (this != &other) *this = AlignedBuffer(other);
    return *this;
  }

  // Discards the contents; the new elements are zero.
  void resize(size_t count) {
    const size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
    data_.reset();
    if (kMapLarge && bytes >= kHugePage / 2) {
      data_.reset(static_cast<T*>(map_huge(bytes)));
      data_.get_deleter().mapped_bytes = bytes;
    } else if (bytes != 0) {
      void* p = nullptr;
      if (posix_memalign(&p, bytes >= kHugePage / 2 ? kHugePage : 64, bytes) != 0) {
        throw std::bad_alloc();
      }
      std::memset(p, 0, bytes);
      data_.reset(static_cast<T*>(p));
      data_.get_deleter().mapped_bytes = 0;
    }
    size_ = count;
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }

 private:
  // Buffers of 1 MiB and more (repacked weights, many tokens' tables) are mappings of their
  // own, on a 2 MiB boundary, that ask for transparent huge pages: a weight stream then costs no
  // TLB miss per 4 KiB (measured: cold GEMV 18.5 -> 21-22 GB/s on 6912 x 2560). From malloc
  // they could land in the heap, where glibc reuses pages already faulted in small: a 1B model
  // had 194 of its 300 anonymous MB in 4 KiB pages. The pages are zero and faulted in on first
  // use (no memset), and nothing is rounded up to whole huge pages.
  static void* map_huge(size_t bytes) {
    const size_t span = bytes + kHugePage;
    void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
    if (aligned > start) munmap(raw, aligned - start);
    const uintptr_t end = start + span;
    if (end > aligned + bytes)
      munmap(reinterpret_cast<void*>(aligned + bytes), end - aligned - bytes);
    madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
    return reinterpret_cast<void*>(aligned);
  }
  struct Free {
    size_t mapped_bytes = 0;  // 0: from posix_memalign
    void operator()(T* p) const {
      if (mapped_bytes != 0) {
        munmap(p, mapped_bytes);
      } else {
        std::free(p);
      }
    }
  };
  std::unique_ptr<T, Free> data_;
  size_t size_ = 0;
};

}  // namespace sherry::jit
