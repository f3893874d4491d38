// The kernel cache: thread-safe; concurrent requests for one key build it once (the others wait
// for that build); a failed build is reported to the requests waiting on it and not cached, so a
// later request tries again. JIT time is measured per kernel and summed in stats().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "ir/kernel_key.h"
#include "jit/kernel.h"

namespace sherry::jit {

struct KernelCacheStats {
  int64_t builds = 0;    // successful builds
  int64_t failures = 0;  // failed builds
  int64_t hits = 0;      // requests served by a built (or building) kernel
  double jit_ms = 0.0;   // total build time of the successful builds
  std::vector<std::pair<std::string, double>> kernels;  // name, build ms
};

class KernelCache {
 public:
  using Builder = std::function<Result<std::unique_ptr<Kernel>>(const ir::KernelKey&)>;
  // builder: kernel_build.h's build_kernel by default (tests count or fail builds through it).
  explicit KernelCache(Builder builder = {});

  // The process-wide cache.
  static KernelCache& global();

  Result<std::shared_ptr<const Kernel>> get(const ir::KernelKey& key);
  KernelCacheStats stats() const;
  size_t size() const;

 private:
  struct Entry {
    bool done = false;
    std::shared_ptr<const Kernel> kernel;
    std::optional<Error> error;
  };

  Builder builder_;
  mutable std::mutex mutex_;
  std::condition_variable built_;
  std::unordered_map<ir::KernelKey, std::shared_ptr<Entry>, ir::KernelKeyHash> entries_;
  KernelCacheStats stats_;
};

}  // namespace sherry::jit
