// The decode loop must not allocate: forward() runs on buffers sized at load time. Counted with a
// replaced global operator new (this test binary only).
#include <atomic>
#include <cstdlib>
#include <new>

#include <doctest/doctest.h>

#include "runtime/llama_model.h"
#include "runtime/sampler.h"
#include "tiny_llama.h"

namespace {
std::atomic<int64_t> g_allocations{0};
}

// Every replaceable form that pairs with free() (the aligned forms stay the library's, which
// pair with their own deletes), so sanitizers see matching allocations and deallocations.
void* counted_malloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new(std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
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

namespace sherry::runtime {
namespace {

void check_no_allocation(testing::LinearFormat format, jit::KernelBackend backend) {
  testing::TinySpec spec;
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
  const int64_t before = g_allocations.load();
  for (int step = 0; step < 8; ++step) {
    tokens.push_back(sampler.sample(*logits, tokens));
    logits = (*model)->forward(std::span<const int32_t>(&tokens.back(), 1), tokens.size() - 1);
  }
  const int64_t allocations = g_allocations.load() - before;
  CHECK_MESSAGE(allocations == 0, allocations, " allocations in 8 decode steps");
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

}  // namespace
}  // namespace sherry::runtime
