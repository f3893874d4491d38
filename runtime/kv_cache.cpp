#include "runtime/kv_cache.h"

#include <cstring>

#include "core/error.h"
#include "runtime/float_kernels.h"

namespace sherry::runtime {

KvCache::KvCache(int64_t layers, int64_t context, int64_t kv_dim, KvType type)
    : layers_(layers), context_(context), kv_dim_(kv_dim), type_(type) {
  SHERRY_CHECK(layers > 0 && context > 0 && kv_dim > 0);
  storage_.reset(new uint8_t[bytes()]);
}

uint8_t* KvCache::row(int which, int64_t layer, int64_t position) const {
  const size_t index = ((static_cast<size_t>(layer) * 2 + which) * context_ + position) * kv_dim_;
  return storage_.get() + index * element_size();
}

void KvCache::store(int64_t layer, int64_t position, const float* k, const float* v) {
  SHERRY_CHECK(layer >= 0 && layer < layers_ && position >= 0 && position < context_);
  if (type_ == KvType::kF16) {
    to_fp16(k, kv_dim_, reinterpret_cast<uint16_t*>(row(0, layer, position)));
    to_fp16(v, kv_dim_, reinterpret_cast<uint16_t*>(row(1, layer, position)));
  } else {
    std::memcpy(row(0, layer, position), k, kv_dim_ * sizeof(float));
    std::memcpy(row(1, layer, position), v, kv_dim_ * sizeof(float));
  }
}

}  // namespace sherry::runtime
