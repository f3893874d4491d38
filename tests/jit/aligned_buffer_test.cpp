// jit::AlignedBuffer: alignment, zeroed contents, copies and resizes, for the small
// (posix_memalign) and the large (own mapping on a 2 MiB boundary) kinds.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>

#include "jit/aligned_buffer.h"

namespace sherry::jit {
namespace {

template <class T>
bool all_zero(const AlignedBuffer<T>& b) {
  return std::all_of(b.data(), b.data() + b.size(), [](T v) { return v == T{0}; });
}

TEST_CASE("aligned buffers start zeroed, aligned, and copy and resize their contents") {
  for (const size_t count : {size_t{1}, size_t{1000}, size_t{1} << 18, (size_t{3} << 20) + 7}) {
    AlignedBuffer<int32_t> b(count);
    const auto address = reinterpret_cast<uintptr_t>(b.data());
    const size_t bytes = count * sizeof(int32_t);
    CAPTURE(count);
    CHECK(b.size() == count);
    CHECK(address % 64 == 0);
    if (bytes >= AlignedBuffer<int32_t>::kHugePage / 2) {
      CHECK(address % AlignedBuffer<int32_t>::kHugePage == 0);
    }
    CHECK(all_zero(b));
    for (size_t i = 0; i < count; ++i) b[i] = static_cast<int32_t>(i * 7 + 1);
    const AlignedBuffer<int32_t> copy(b);
    CHECK(copy.data() != b.data());
    CHECK(std::equal(copy.data(), copy.data() + count, b.data()));
    AlignedBuffer<int32_t> moved(std::move(b));
    CHECK(moved[count - 1] == static_cast<int32_t>((count - 1) * 7 + 1));
    moved.resize(count * 2);  // discards the contents: zero again
    CHECK(moved.size() == count * 2);
    CHECK(all_zero(moved));
    moved.resize(0);
    CHECK(moved.size() == 0);
  }
}

}  // namespace
}  // namespace sherry::jit
