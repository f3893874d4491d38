// Causal grouped-query attention over the KV cache: each query token reads the cache of its own
// sequence, attending to that cache's positions 0 .. its own position; query head h reads KV head
// h / (heads / kv_heads).
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

// Where one query token reads: its sequence's cache, positions 0 .. position.
struct AttentionQuery {
  const KvCache* cache = nullptr;
  int64_t position = 0;
};

// q, out: n × heads·head_dim; queries: n. scratch: pool threads × the caches' context floats
// (scores; every cache has the same context).
void attention(const AttentionShape& shape, const float* q, const AttentionQuery* queries,
               int64_t n, int64_t layer, float* out, float* scratch, ThreadPool* pool);

}  // namespace sherry::runtime
