// Causal grouped-query attention over the KV cache: query token t (at position first + t) attends
// to cache positions 0 .. first + t; query head h reads KV head h / (heads / kv_heads).
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "runtime/kv_cache.h"

namespace sherry::runtime {

struct AttentionShape {
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
};

// q, out: n × heads·head_dim. scratch: pool threads × cache.context() floats (scores).
void attention(const AttentionShape& shape, const float* q, const KvCache& cache, int64_t layer,
               int64_t first, int64_t n, float* out, float* scratch, ThreadPool* pool);

}  // namespace sherry::runtime
