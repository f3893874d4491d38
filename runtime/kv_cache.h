// Keys and values of every layer for every position of the context, f16 or f32, allocated once.
// Layout per layer: position-major, [context][kv_heads · head_dim].
#pragma once

#include <cstdint>
#include <memory>

namespace sherry::runtime {

enum class KvType : uint8_t { kF16, kF32 };

class KvCache {
 public:
  KvCache(int64_t layers, int64_t context, int64_t kv_dim, KvType type);

  int64_t layers() const { return layers_; }
  int64_t context() const { return context_; }
  int64_t kv_dim() const { return kv_dim_; }
  KvType type() const { return type_; }
  size_t bytes() const {
    return 2 * static_cast<size_t>(layers_ * context_ * kv_dim_) * element_size();
  }

  // Stores one token's k and v (kv_dim floats each).
  void store(int64_t layer, int64_t position, const float* k, const float* v);
  // Start of the key / value row of `position` (fp16 bits or floats per type()).
  const void* key(int64_t layer, int64_t position) const { return row(0, layer, position); }
  const void* value(int64_t layer, int64_t position) const { return row(1, layer, position); }

 private:
  size_t element_size() const { return type_ == KvType::kF16 ? 2 : 4; }
  uint8_t* row(int which, int64_t layer, int64_t position) const;

  int64_t layers_;
  int64_t context_;
  int64_t kv_dim_;
  KvType type_;
  std::unique_ptr<uint8_t[]> storage_;  // not value-initialized: pages are touched as used
};

}  // namespace sherry::runtime
