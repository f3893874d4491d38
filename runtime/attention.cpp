#include "runtime/attention.h"

#include <cmath>
#include <cstring>

#include "runtime/float_kernels.h"

namespace sherry::runtime {
namespace {

struct AttentionArgs {
  const AttentionShape* shape;
  const float* q;
  const AttentionQuery* queries;
  int64_t layer;
  float* out;
  float* scratch;
};

// One (token, head) pair. Tasks are head-major so that a contiguous range of them covers whole
// heads: balanced work under the causal mask, and neighbouring tasks read the same KV head.
void attend(const AttentionArgs& a, int64_t n, int64_t task, int thread) {
  const AttentionShape& s = *a.shape;
  const int64_t t = task % n;
  const int64_t h = task / n;
  const int64_t hd = s.head_dim;
  const int64_t kv_offset = (h / (s.heads / s.kv_heads)) * hd;
  const float* q = a.q + (t * s.heads + h) * hd;
  float* out = a.out + (t * s.heads + h) * hd;
  const KvCache& cache = *a.queries[t].cache;
  float* scores = a.scratch + static_cast<int64_t>(thread) * cache.context();
  const int64_t length = a.queries[t].position + 1;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool f16 = cache.type() == KvType::kF16;

  for (int64_t p = 0; p < length; ++p) {
    const void* k = cache.key(a.layer, p);
    scores[p] = scale * (f16 ? dot_f16(q, static_cast<const uint16_t*>(k) + kv_offset, hd)
                             : dot(q, static_cast<const float*>(k) + kv_offset, hd));
  }
  softmax(scores, length);
  std::memset(out, 0, hd * sizeof(float));
  for (int64_t p = 0; p < length; ++p) {
    const void* v = cache.value(a.layer, p);
    if (f16)
      axpy_f16(scores[p], static_cast<const uint16_t*>(v) + kv_offset, hd, out);
    else
      axpy(scores[p], static_cast<const float*>(v) + kv_offset, hd, out);
  }
}

}  // namespace

void attention(const AttentionShape& shape, const float* q, const AttentionQuery* queries,
               int64_t n, int64_t layer, float* out, float* scratch, ThreadPool* pool) {
  const AttentionArgs args{&shape, q, queries, layer, out, scratch};
  const int64_t tasks = n * shape.heads;
  if (pool == nullptr || pool->size() == 1) {
    for (int64_t task = 0; task < tasks; ++task) attend(args, n, task, 0);
    return;
  }
  const AttentionArgs* a = &args;
  pool->parallel_for(tasks, 1, [a, n](int64_t begin, int64_t end, int thread) {
    for (int64_t task = begin; task < end; ++task) attend(*a, n, task, thread);
  });
}

}  // namespace sherry::runtime
