// The kernel cache: one build per key under concurrency, failures not cached, stats.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "jit/kernel_build.h"
#include "jit/kernel_cache.h"
#include "tests/jit/jit_test_util.h"

namespace sherry::jit {
namespace {

ir::KernelKey some_key(int64_t m) {
  ir::KernelKey key;
  key.isa = ir::Isa::kScalar;
  key.m = m;
  key.k = 128;
  return key;
}

// A kernel with no code: what the cache stores is all these tests look at.
struct EmptyKernel final : Kernel {
  std::span<const uint8_t> code_bytes() const override { return {}; }
  const void* code_address() const override { return nullptr; }
};

// A builder that makes an empty kernel after a pause, or fails while `fail` is set.
struct CountingBuilder {
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
  Result<std::unique_ptr<Kernel>> operator()(const ir::KernelKey& key) {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (fail) return make_error("kernel {}: builder told to fail", ir::kernel_name(key));
    auto kernel = std::make_unique<EmptyKernel>();
    kernel->key = key;
    kernel->name = ir::kernel_name(key);
    kernel->jit_ms = 1.5;
    return std::unique_ptr<Kernel>(std::move(kernel));
  }
};

TEST_CASE("concurrent requests for one key build it once") {
  CountingBuilder builder;
  KernelCache cache([&](const ir::KernelKey& key) { return builder(key); });
  std::vector<std::thread> threads;
  std::vector<const Kernel*> got(16, nullptr);
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      Result<std::shared_ptr<const Kernel>> kernel = cache.get(some_key(i % 2 == 0 ? 64 : 96));
      if (kernel.ok()) got[i] = kernel->get();
    });
  }
  for (auto& t : threads) t.join();
  CHECK(builder.calls == 2);
  for (int i = 0; i < 16; ++i) {
    REQUIRE(got[i] != nullptr);
    CHECK(got[i] == got[i % 2]);
  }
  const KernelCacheStats stats = cache.stats();
  CHECK(stats.builds == 2);
  CHECK(stats.hits == 14);
  CHECK(stats.jit_ms == doctest::Approx(3.0));
  CHECK(stats.kernels.size() == 2);
}

TEST_CASE("a failed build is reported to its waiters and not cached") {
  CountingBuilder builder;
  builder.fail = true;
  KernelCache cache([&](const ir::KernelKey& key) { return builder(key); });
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      Result<std::shared_ptr<const Kernel>> kernel = cache.get(some_key(64));
      if (!kernel.ok() && kernel.error().message().find("told to fail") != std::string::npos) {
        ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(errors == 4);
  CHECK(cache.size() == 0);
  const int calls = builder.calls;
  builder.fail = false;
  CHECK(cache.get(some_key(64)).ok());
  CHECK(builder.calls == calls + 1);
  CHECK(cache.stats().failures == calls);
}

TEST_CASE("the global cache builds real kernels once and times them") {
  const std::vector<ir::Isa> isas = test::runnable_isas();
  if (isas.empty()) return;
  ir::KernelKey key;
  key.isa = isas.front();
  key.m = 96;
  key.k = 640;
  Result<ir::KernelKey> resolved = resolve_kernel_key(key);
  REQUIRE(resolved.ok());
  KernelCache cache;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&] { CHECK(cache.get(*resolved).ok()); });
  for (auto& t : threads) t.join();
  const KernelCacheStats stats = cache.stats();
  CHECK(stats.builds == 1);
  CHECK(stats.hits == 7);
  CHECK(stats.jit_ms > 0.0);
  MESSAGE("jit ms for ", stats.kernels.front().first, ": ", stats.kernels.front().second);
}

}  // namespace
}  // namespace sherry::jit
