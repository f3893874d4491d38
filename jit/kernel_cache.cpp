#include "jit/kernel_cache.h"

#include "jit/kernel_build.h"

namespace sherry::jit {

KernelCache::KernelCache(Builder builder) : builder_(std::move(builder)) {
  if (!builder_) builder_ = build_kernel;
}

KernelCache& KernelCache::global() {
  static KernelCache cache;
  return cache;
}

Result<std::shared_ptr<const Kernel>> KernelCache::get(const ir::KernelKey& key) {
  std::shared_ptr<Entry> entry;
  {
    std::unique_lock lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      entry = it->second;
      ++stats_.hits;
      built_.wait(lock, [&] { return entry->done; });
      if (entry->kernel) return entry->kernel;
      return *entry->error;
    }
    entry = std::make_shared<Entry>();
    entries_.emplace(key, entry);
  }
  // Build outside the lock: other keys proceed, requests for this key wait on `done`.
  Result<std::unique_ptr<Kernel>> built = builder_(key);
  std::lock_guard lock(mutex_);
  entry->done = true;
  if (built.ok()) {
    entry->kernel = std::shared_ptr<const Kernel>(std::move(*built));
    ++stats_.builds;
    stats_.jit_ms += entry->kernel->jit_ms;
    stats_.kernels.emplace_back(entry->kernel->name, entry->kernel->jit_ms);
  } else {
    entry->error = built.error();
    ++stats_.failures;
    entries_.erase(key);  // not cached: the next request builds again
  }
  built_.notify_all();
  if (entry->kernel) return entry->kernel;
  return *entry->error;
}

KernelCacheStats KernelCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

size_t KernelCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace sherry::jit
