// The decode loop must not allocate: forward() runs on buffers sized at load time. Counted, in
// this test binary only, through every way the runtime can get memory:
//   - the replaceable global operator new forms (plain, array, nothrow and std::align_val_t);
//   - the malloc family and mmap (malloc, calloc, realloc, posix_memalign, aligned_alloc,
//     memalign, valloc, pvalloc, mmap, mmap64), wrapped with the linker's --wrap in
//     tests/runtime/CMakeLists.txt, so every call from the sherry libraries and this file goes
//     through a counting __wrap_X that calls the real one (libc's, or the sanitizer's interceptor
//     in the ASan build: --wrap works the same in both). Calls made inside shared libraries
//     (libstdc++, libc) are not seen, but operator new is replaced here and the JIT's code
//     memory and buffers (mmap, posix_memalign) are called from the static sherry libraries.
// Without SHERRY_WRAPPED_ALLOCATIONS (a linker without --wrap) only operator new is counted,
// and the test says so.
#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include <doctest/doctest.h>

#include "jit/aligned_buffer.h"
#include "jit/code_memory.h"
#include "runtime/llama_model.h"
#include "runtime/sampler.h"
#include "tiny_llama.h"

namespace {
std::atomic<int64_t> g_operator_new{0};
std::atomic<int64_t> g_malloc_family{0};
std::atomic<int64_t> g_mmap{0};

int64_t count(std::atomic<int64_t>& counter) {
  return counter.fetch_add(1, std::memory_order_relaxed);
}

// Every allocation counted so far, of every kind.
struct Allocations {
  int64_t operator_new = g_operator_new.load();
  int64_t malloc_family = g_malloc_family.load();
  int64_t mmap = g_mmap.load();
  int64_t total() const { return operator_new + malloc_family + mmap; }
  Allocations since(const Allocations& before) const {
    Allocations d = *this;
    d.operator_new -= before.operator_new;
    d.malloc_family -= before.malloc_family;
    d.mmap -= before.mmap;
    return d;
  }
};
}  // namespace

#ifdef SHERRY_WRAPPED_ALLOCATIONS
extern "C" {
void* __real_malloc(size_t size);
void* __real_calloc(size_t count, size_t size);
void* __real_realloc(void* p, size_t size);
int __real_posix_memalign(void** p, size_t alignment, size_t size);
void* __real_aligned_alloc(size_t alignment, size_t size);
void* __real_memalign(size_t alignment, size_t size);
void* __real_valloc(size_t size);
void* __real_pvalloc(size_t size);
void* __real_mmap(void* address, size_t length, int prot, int flags, int fd, off_t offset);
void* __real_mmap64(void* address, size_t length, int prot, int flags, int fd, off_t offset);

void* __wrap_malloc(size_t size) {
  count(g_malloc_family);
  return __real_malloc(size);
}
void* __wrap_calloc(size_t count_, size_t size) {
  count(g_malloc_family);
  return __real_calloc(count_, size);
}
void* __wrap_realloc(void* p, size_t size) {
  count(g_malloc_family);
  return __real_realloc(p, size);
}
int __wrap_posix_memalign(void** p, size_t alignment, size_t size) {
  count(g_malloc_family);
  return __real_posix_memalign(p, alignment, size);
}
void* __wrap_aligned_alloc(size_t alignment, size_t size) {
  count(g_malloc_family);
  return __real_aligned_alloc(alignment, size);
}
void* __wrap_memalign(size_t alignment, size_t size) {
  count(g_malloc_family);
  return __real_memalign(alignment, size);
}
void* __wrap_valloc(size_t size) {
  count(g_malloc_family);
  return __real_valloc(size);
}
void* __wrap_pvalloc(size_t size) {
  count(g_malloc_family);
  return __real_pvalloc(size);
}
void* __wrap_mmap(void* address, size_t length, int prot, int flags, int fd, off_t offset) {
  count(g_mmap);
  return __real_mmap(address, length, prot, flags, fd, offset);
}
void* __wrap_mmap64(void* address, size_t length, int prot, int flags, int fd, off_t offset) {
  count(g_mmap);
  return __real_mmap64(address, length, prot, flags, fd, offset);
}
}
constexpr bool kCountsMallocAndMmap = true;
// operator new takes its memory from the real functions, so one new counts once.
void* raw_malloc(size_t size) {
  return __real_malloc(size);
}
int raw_posix_memalign(void** p, size_t alignment, size_t size) {
  return __real_posix_memalign(p, alignment, size);
}
#else
constexpr bool kCountsMallocAndMmap = false;
void* raw_malloc(size_t size) {
  return std::malloc(size);
}
int raw_posix_memalign(void** p, size_t alignment, size_t size) {
  return posix_memalign(p, alignment, size);
}
#endif

// Every replaceable form, all taking memory that pairs with free(), so sanitizers see matching
// allocations and deallocations.
void* counted_new(std::size_t size) {
  count(g_operator_new);
  return raw_malloc(size == 0 ? 1 : size);
}
void* counted_aligned_new(std::size_t size, std::align_val_t alignment) {
  count(g_operator_new);
  void* p = nullptr;
  const size_t align = std::max(static_cast<size_t>(alignment), sizeof(void*));
  return raw_posix_memalign(&p, align, size == 0 ? 1 : size) == 0 ? p : nullptr;
}
void* operator new(std::size_t size) {
  if (void* p = counted_new(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_new(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_new(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_new(size);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
  if (void* p = counted_aligned_new(size, alignment)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  if (void* p = counted_aligned_new(size, alignment)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return counted_aligned_new(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return counted_aligned_new(size, alignment);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace sherry::runtime {
namespace {

// Says once, in the test output, when malloc and mmap are not counted.
void note_what_is_counted() {
  if (!kCountsMallocAndMmap) {
    MESSAGE(
        "this build counts only operator new (no --wrap): malloc, posix_memalign, "
        "aligned_alloc and mmap during decode are NOT counted");
  }
}

void check_no_allocation(testing::LinearFormat format, jit::KernelBackend backend,
                         testing::TinySpec spec = {}) {
  note_what_is_counted();
  spec.format = format;
  const std::string path = testing::temp_path("alloc.gguf");
  testing::write_tiny_llama(path, spec);
  ModelOptions options;
  options.threads = 2;
  options.backend = backend;
  auto model = LlamaModel::load(path, options);
  REQUIRE(model.ok());
  Sampler sampler(SamplerOptions{}, (*model)->config().vocab);
  std::vector<int32_t> tokens = {1, 260, 270, 280};
  tokens.reserve(64);
  auto logits = (*model)->forward(tokens, 0);  // prefill; first calls may size lazily
  REQUIRE(logits.ok());
  for (int step = 0; step < 3; ++step) {
    tokens.push_back(sampler.sample(*logits, tokens));
    logits = (*model)->forward(std::span<const int32_t>(&tokens.back(), 1), tokens.size() - 1);
  }
  const Allocations before;
  for (int step = 0; step < 8; ++step) {
    tokens.push_back(sampler.sample(*logits, tokens));
    logits = (*model)->forward(std::span<const int32_t>(&tokens.back(), 1), tokens.size() - 1);
  }
  const Allocations during = Allocations().since(before);
  CHECK_MESSAGE(during.total() == 0, during.operator_new, " operator new, ", during.malloc_family,
                " malloc-family and ", during.mmap, " mmap calls in 8 decode steps");
}

// A server's step: one pass over the next token of each of three sequences (the GEMM kernels for
// n = 3), each at its own position in its own cache.
void check_no_allocation_over_sequences(testing::LinearFormat format) {
  note_what_is_counted();
  testing::TinySpec spec;
  spec.format = format;
  const std::string path = testing::temp_path("alloc_sequences.gguf");
  testing::write_tiny_llama(path, spec);
  ModelOptions options;
  options.threads = 2;
  options.sequences = 3;
  auto model = LlamaModel::load(path, options);
  REQUIRE(model.ok());
  const int64_t vocab = (*model)->config().vocab;
  std::vector<Sampler> samplers(3, Sampler(SamplerOptions{}, vocab));
  std::vector<std::vector<int32_t>> tokens = {{1, 260}, {1, 270, 280, 290}, {1}};
  for (auto& t : tokens) t.reserve(64);
  std::vector<BatchToken> batch(3);
  for (int32_t s = 0; s < 3; ++s) {  // prefill each; first calls may size lazily
    auto logits = (*model)->forward(tokens[s], 0);
    REQUIRE(logits.ok());
    tokens[s].push_back(samplers[s].sample(*logits, tokens[s]));
  }
  auto step = [&] {
    for (int32_t s = 0; s < 3; ++s) {
      batch[s] = {tokens[s].back(), s, static_cast<int64_t>(tokens[s].size()) - 1, true};
    }
    auto logits = (*model)->forward(batch);
    REQUIRE(logits.ok());
    for (int32_t s = 0; s < 3; ++s) {
      tokens[s].push_back(samplers[s].sample(logits->subspan(s * vocab, vocab), tokens[s]));
    }
  };
  for (int i = 0; i < 3; ++i) step();
  const Allocations before;
  for (int i = 0; i < 8; ++i) step();
  const Allocations during = Allocations().since(before);
  CHECK_MESSAGE(during.total() == 0, during.operator_new, " operator new, ", during.malloc_family,
                " malloc-family and ", during.mmap, " mmap calls in 8 steps over 3 sequences");
}

TEST_CASE("decoding allocates nothing on the float path") {
  check_no_allocation(testing::LinearFormat::kF32, jit::KernelBackend::kJit);
}
// The runtime's own part of the quantized path (shared activation quantization, forward_quantized)
// on the reference kernels, which allocate nothing once warm.
TEST_CASE("decoding allocates nothing around quantized layers") {
  check_no_allocation(testing::LinearFormat::kSherry, jit::KernelBackend::kReference);
}
// The whole decode step on the JIT kernels: tables, kernels and the thread pool's hand-off.
TEST_CASE("decoding allocates nothing on the jit kernels") {
  check_no_allocation(testing::LinearFormat::kSherry, jit::KernelBackend::kJit);
}

// The int8 GEMM of a K-quant head (its activations quantized into buffers of the layer) and
// the K-quant embedding's row decoding.
TEST_CASE("decoding allocates nothing with a k quant head and embedding") {
  testing::TinySpec spec;
  spec.hidden = 256;
  spec.output_type = gguf::TensorType::kQ6_K;
  spec.embedding_type = gguf::TensorType::kQ4_K;
  check_no_allocation(testing::LinearFormat::kSherry, jit::KernelBackend::kJit, spec);
}

TEST_CASE("a step over several sequences allocates nothing on the float path") {
  check_no_allocation_over_sequences(testing::LinearFormat::kF32);
}
TEST_CASE("a step over several sequences allocates nothing on the jit kernels") {
  check_no_allocation_over_sequences(testing::LinearFormat::kSherry);
}

// The counters themselves: each way of getting memory, called between two snapshots as the decode
// check takes them, is seen. The posix_memalign and mmap calls are the JIT's own (AlignedBuffer,
// CodeMemory in the sherry_jit library), so a decode step that made them would fail above.
struct alignas(64) Aligned64 {
  float values[16];
};
TEST_CASE("the allocation counters see every kind of allocation") {
  note_what_is_counted();
  {
    const Allocations before;
    auto vector = std::make_unique<std::vector<int>>(10);
    CHECK(Allocations().since(before).operator_new == 2);
  }
  {
    const Allocations before;
    auto aligned = std::make_unique<Aligned64>();
    auto aligned_array = std::make_unique<Aligned64[]>(3);
    CHECK(Allocations().since(before).operator_new == 2);
    CHECK(reinterpret_cast<uintptr_t>(aligned.get()) % 64 == 0);
    CHECK(reinterpret_cast<uintptr_t>(aligned_array.get()) % 64 == 0);
  }
  if (!kCountsMallocAndMmap) return;
  {
    const Allocations before;
    jit::AlignedBuffer<float> buffer(100);  // posix_memalign
    const Allocations during = Allocations().since(before);
    CHECK(during.malloc_family == 1);
    CHECK(during.total() == 1);
  }
  {
    const std::vector<uint8_t> code = {0xc3};  // ret
    const Allocations before;
    auto memory = jit::CodeMemory::create(code, "allocation_probe");  // mmap
    const Allocations during = Allocations().since(before);
    REQUIRE(memory.ok());
    CHECK(during.mmap == 1);
  }
  {
    const Allocations before;
    void* a = std::malloc(8);
    void* b = std::calloc(2, 8);
    b = std::realloc(b, 64);
    void* c = std::aligned_alloc(64, 128);
    void* d = memalign(64, 128);
    void* e = nullptr;
    REQUIRE(posix_memalign(&e, 64, 128) == 0);
    CHECK(Allocations().since(before).malloc_family == 6);
    for (void* p : {a, b, c, d, e}) std::free(p);
  }
}

}  // namespace
}  // namespace sherry::runtime
