#include "trainer/qat/layers.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "trainer/qat/blas.h"

namespace sherry::train {

namespace {

// The attention tasks are compiled for AVX-512 and AVX2 besides the baseline and picked at load
// time (the project builds for baseline x86-64; OpenBLAS dispatches on its own). The small loops
// below are inlined into them, so they get the clone's instruction set.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SHERRY_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SHERRY_VECTOR_CLONES
#endif

// y[i] += a · x[i]
template <class Real>
inline __attribute__((always_inline)) void axpy(Real* __restrict y, Real a,
                                                const Real* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// row[s] = Σ_i a[i] · bt[i·stride + s] for s < len (bt is a transposed matrix)
template <class Real>
inline __attribute__((always_inline)) void row_times_transposed(Real* __restrict row,
                                                                const Real* __restrict a,
                                                                const Real* __restrict bt,
                                                                int64_t inner, int64_t stride,
                                                                int64_t len) {
  for (int64_t s = 0; s < len; ++s) row[s] = 0;
  for (int64_t i = 0; i < inner; ++i) {
    const Real ai = a[i];
    const Real* b = bt + i * stride;
    for (int64_t s = 0; s < len; ++s) row[s] += ai * b[s];
  }
}

template <class Real>
SHERRY_VECTOR_CLONES void attention_forward_tasks(Real* out, Real* probs, const Real* q,
                                                  const Real* k, const Real* v, int64_t seq_len,
                                                  int64_t heads, int64_t kv_heads, int64_t head_dim,
                                                  int64_t begin, int64_t end) {
  const int64_t group = heads / kv_heads;
  const int64_t qd = heads * head_dim, kvd = kv_heads * head_dim;
  const Real scale = Real(1) / std::sqrt(static_cast<Real>(head_dim));
  std::vector<Real> kt(head_dim * seq_len);  // (head_dim, seq)
  for (int64_t task = begin; task < end; ++task) {
    const int64_t b = task / heads, h = task % heads, kvh = h / group;
    for (int64_t s = 0; s < seq_len; ++s)
      for (int64_t i = 0; i < head_dim; ++i)
        kt[i * seq_len + s] = k[(b * seq_len + s) * kvd + kvh * head_dim + i];
    Real* p_bh = probs + task * seq_len * seq_len;
    for (int64_t t = 0; t < seq_len; ++t) {
      const Real* qt = q + (b * seq_len + t) * qd + h * head_dim;
      Real* row = p_bh + t * seq_len;
      const int64_t len = t + 1;
      row_times_transposed(row, qt, kt.data(), head_dim, seq_len, len);
      Real max_score = -INFINITY;
      for (int64_t s = 0; s < len; ++s) {
        row[s] *= scale;
        max_score = std::max(max_score, row[s]);
      }
      Real sum = 0;
      for (int64_t s = 0; s < len; ++s) {
        row[s] = std::exp(row[s] - max_score);
        sum += row[s];
      }
      const Real inv = Real(1) / sum;
      for (int64_t s = 0; s < len; ++s) row[s] *= inv;
      for (int64_t s = len; s < seq_len; ++s) row[s] = 0;
      Real* ot = out + (b * seq_len + t) * qd + h * head_dim;
      for (int64_t i = 0; i < head_dim; ++i) ot[i] = 0;
      for (int64_t s = 0; s < len; ++s)
        axpy(ot, row[s], v + (b * seq_len + s) * kvd + kvh * head_dim, head_dim);
    }
  }
}

template <class Real>
SHERRY_VECTOR_CLONES void attention_backward_tasks(Real* dq, Real* dk, Real* dv, const Real* dout,
                                                   const Real* probs, const Real* q, const Real* k,
                                                   const Real* v, int64_t seq_len, int64_t heads,
                                                   int64_t kv_heads, int64_t head_dim,
                                                   int64_t begin, int64_t end) {
  const int64_t group = heads / kv_heads;
  const int64_t qd = heads * head_dim, kvd = kv_heads * head_dim;
  const Real scale = Real(1) / std::sqrt(static_cast<Real>(head_dim));
  std::vector<Real> dp(seq_len);
  std::vector<Real> vt(head_dim * seq_len);  // (head_dim, seq)
  for (int64_t task = begin; task < end; ++task) {
    const int64_t b = task / kv_heads, kvh = task % kv_heads;
    for (int64_t s = 0; s < seq_len; ++s) {
      std::fill_n(dk + (b * seq_len + s) * kvd + kvh * head_dim, head_dim, Real(0));
      std::fill_n(dv + (b * seq_len + s) * kvd + kvh * head_dim, head_dim, Real(0));
      for (int64_t i = 0; i < head_dim; ++i)
        vt[i * seq_len + s] = v[(b * seq_len + s) * kvd + kvh * head_dim + i];
    }
    for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
      const Real* p_bh = probs + (b * heads + h) * seq_len * seq_len;
      for (int64_t t = 0; t < seq_len; ++t) {
        const int64_t len = t + 1;
        const Real* row = p_bh + t * seq_len;
        const Real* dot_t = dout + (b * seq_len + t) * qd + h * head_dim;
        const Real* qt = q + (b * seq_len + t) * qd + h * head_dim;
        Real* dqt = dq + (b * seq_len + t) * qd + h * head_dim;
        // dp_s = dout_t · v_s
        row_times_transposed(dp.data(), dot_t, vt.data(), head_dim, seq_len, len);
        Real weighted = 0;  // Σ_s p_s · dp_s
        for (int64_t s = 0; s < len; ++s) weighted += row[s] * dp[s];
        for (int64_t i = 0; i < head_dim; ++i) dqt[i] = 0;
        for (int64_t s = 0; s < len; ++s) {
          const Real ps = row[s];
          const Real ds = ps * (dp[s] - weighted) * scale;
          const int64_t kv_row = (b * seq_len + s) * kvd + kvh * head_dim;
          axpy(dqt, ds, k + kv_row, head_dim);
          axpy(dk + kv_row, ds, qt, head_dim);
          axpy(dv + kv_row, ps, dot_t, head_dim);
        }
      }
    }
  }
}

}  // namespace

template <class Real>
void embedding_forward(Real* out, const int32_t* tokens, const Real* table, int64_t n,
                       int64_t dim) {
  for (int64_t r = 0; r < n; ++r)
    std::memcpy(out + r * dim, table + static_cast<int64_t>(tokens[r]) * dim, dim * sizeof(Real));
}

template <class Real>
void embedding_backward(Real* dtable, const Real* dout, const int32_t* tokens, int64_t n,
                        int64_t dim) {
  // Serial: two rows may share a token, and the order of the sums must not depend on threads.
  for (int64_t r = 0; r < n; ++r) {
    Real* row = dtable + static_cast<int64_t>(tokens[r]) * dim;
    for (int64_t i = 0; i < dim; ++i) row[i] += dout[r * dim + i];
  }
}

template <class Real>
void rmsnorm_forward(Real* out, Real* rstd, const Real* x, const Real* weight, int64_t n,
                     int64_t dim, Real eps, ThreadPool* pool) {
  parallel_ranges(pool, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const Real* xr = x + r * dim;
      Real sum = 0;
      for (int64_t i = 0; i < dim; ++i) sum += xr[i] * xr[i];
      const Real s = Real(1) / std::sqrt(sum / static_cast<Real>(dim) + eps);
      rstd[r] = s;
      for (int64_t i = 0; i < dim; ++i) out[r * dim + i] = xr[i] * s * weight[i];
    }
  });
}

template <class Real>
void rmsnorm_backward(Real* dx, Real* dweight, const Real* dout, const Real* x, const Real* weight,
                      const Real* rstd, int64_t n, int64_t dim, ThreadPool* pool) {
  parallel_ranges(pool, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const Real* xr = x + r * dim;
      const Real* gr = dout + r * dim;
      const Real s = rstd[r];
      Real dot = 0;  // Σ g_j w_j x_j
      for (int64_t i = 0; i < dim; ++i) dot += gr[i] * weight[i] * xr[i];
      const Real c = s * s * s * dot / static_cast<Real>(dim);
      for (int64_t i = 0; i < dim; ++i) dx[r * dim + i] += s * gr[i] * weight[i] - c * xr[i];
    }
  });
  // dweight serially over rows, so the sum order is fixed.
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < dim; ++i) dweight[i] += dout[r * dim + i] * x[r * dim + i] * rstd[r];
}

template <class Real>
void linear_forward(Real* out, const Real* x, const Real* w, int64_t n, int64_t rows,
                    int64_t cols) {
  gemm<Real>(false, true, n, rows, cols, Real(1), x, cols, w, cols, Real(0), out, rows);
}

template <class Real>
void linear_backward(Real* dx, Real* dw, const Real* dout, const Real* x, const Real* w, int64_t n,
                     int64_t rows, int64_t cols, Real weight_grad_scale) {
  if (dx != nullptr)
    gemm<Real>(false, false, n, cols, rows, Real(1), dout, rows, w, cols, Real(1), dx, cols);
  gemm<Real>(true, false, rows, cols, n, weight_grad_scale, dout, rows, x, cols, Real(1), dw, cols);
}

template <class Real>
void rope_table(std::vector<Real>& cos_table, std::vector<Real>& sin_table, int64_t seq_len,
                int64_t head_dim, double theta) {
  const int64_t half = head_dim / 2;
  cos_table.resize(seq_len * half);
  sin_table.resize(seq_len * half);
  for (int64_t pos = 0; pos < seq_len; ++pos)
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(pos) * std::pow(theta, -2.0 * i / head_dim);
      cos_table[pos * half + i] = static_cast<Real>(std::cos(angle));
      sin_table[pos * half + i] = static_cast<Real>(std::sin(angle));
    }
}

template <class Real>
void rope_apply(Real* x, const Real* cos_table, const Real* sin_table, int64_t n, int64_t seq_len,
                int64_t heads, int64_t head_dim, bool inverse, ThreadPool* pool) {
  const int64_t half = head_dim / 2;
  parallel_ranges(pool, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t pos = r % seq_len;
      const Real* c = cos_table + pos * half;
      const Real* s = sin_table + pos * half;
      for (int64_t h = 0; h < heads; ++h) {
        Real* xh = x + (r * heads + h) * head_dim;
        for (int64_t i = 0; i < half; ++i) {
          const Real x0 = xh[2 * i], x1 = xh[2 * i + 1];
          const Real sn = inverse ? -s[i] : s[i];
          xh[2 * i] = x0 * c[i] - x1 * sn;
          xh[2 * i + 1] = x0 * sn + x1 * c[i];
        }
      }
    }
  });
}

// Scores are computed as rows of q · Kᵀ with Kᵀ materialized (head_dim × seq), so the inner loop
// runs over positions without a reduction: it vectorizes and the summation order is fixed.
template <class Real>
void attention_forward(Real* out, Real* probs, const Real* q, const Real* k, const Real* v,
                       int64_t batch, int64_t seq_len, int64_t heads, int64_t kv_heads,
                       int64_t head_dim, ThreadPool* pool) {
  parallel_ranges(pool, batch * heads, 1, [&](int64_t begin, int64_t end) {
    attention_forward_tasks(out, probs, q, k, v, seq_len, heads, kv_heads, head_dim, begin, end);
  });
}

template <class Real>
void attention_backward(Real* dq, Real* dk, Real* dv, const Real* dout, const Real* probs,
                        const Real* q, const Real* k, const Real* v, int64_t batch, int64_t seq_len,
                        int64_t heads, int64_t kv_heads, int64_t head_dim, ThreadPool* pool) {
  parallel_ranges(pool, batch * kv_heads, 1, [&](int64_t begin, int64_t end) {
    attention_backward_tasks(dq, dk, dv, dout, probs, q, k, v, seq_len, heads, kv_heads, head_dim,
                             begin, end);
  });
}

template <class Real>
void swiglu_forward(Real* out, const Real* gate, const Real* up, int64_t count, ThreadPool* pool) {
  parallel_ranges(pool, count, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const Real g = gate[i];
      out[i] = g / (Real(1) + std::exp(-g)) * up[i];
    }
  });
}

template <class Real>
void swiglu_backward(Real* dgate, Real* dup, const Real* dout, const Real* gate, const Real* up,
                     int64_t count, ThreadPool* pool) {
  parallel_ranges(pool, count, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const Real g = gate[i];
      const Real sig = Real(1) / (Real(1) + std::exp(-g));
      const Real silu = g * sig;
      dup[i] = dout[i] * silu;
      dgate[i] = dout[i] * up[i] * sig * (Real(1) + g * (Real(1) - sig));
    }
  });
}

template <class Real>
void cross_entropy_forward(Real* losses, const Real* logits, const int32_t* targets, int64_t n,
                           int64_t vocab, ThreadPool* pool) {
  parallel_ranges(pool, n, 8, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const Real* row = logits + r * vocab;
      Real max_logit = row[0];
      for (int64_t i = 1; i < vocab; ++i) max_logit = std::max(max_logit, row[i]);
      double sum = 0;
      for (int64_t i = 0; i < vocab; ++i) sum += std::exp(row[i] - max_logit);
      losses[r] = static_cast<Real>(std::log(sum)) + max_logit - row[targets[r]];
    }
  });
}

template <class Real>
void cross_entropy_backward(Real* logits, const int32_t* targets, int64_t n, int64_t vocab,
                            Real scale, ThreadPool* pool) {
  parallel_ranges(pool, n, 8, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      Real* row = logits + r * vocab;
      Real max_logit = row[0];
      for (int64_t i = 1; i < vocab; ++i) max_logit = std::max(max_logit, row[i]);
      double sum = 0;
      for (int64_t i = 0; i < vocab; ++i) sum += std::exp(row[i] - max_logit);
      const Real factor = static_cast<Real>(1.0 / sum) * scale;
      for (int64_t i = 0; i < vocab; ++i) row[i] = std::exp(row[i] - max_logit) * factor;
      row[targets[r]] -= scale;
    }
  });
}

#define SHERRY_INSTANTIATE_LAYERS(Real)                                                            \
  template void embedding_forward<Real>(Real*, const int32_t*, const Real*, int64_t, int64_t);     \
  template void embedding_backward<Real>(Real*, const Real*, const int32_t*, int64_t, int64_t);    \
  template void rmsnorm_forward<Real>(Real*, Real*, const Real*, const Real*, int64_t, int64_t,    \
                                      Real, ThreadPool*);                                          \
  template void rmsnorm_backward<Real>(Real*, Real*, const Real*, const Real*, const Real*,        \
                                       const Real*, int64_t, int64_t, ThreadPool*);                \
  template void linear_forward<Real>(Real*, const Real*, const Real*, int64_t, int64_t, int64_t);  \
  template void linear_backward<Real>(Real*, Real*, const Real*, const Real*, const Real*,         \
                                      int64_t, int64_t, int64_t, Real);                            \
  template void rope_table<Real>(std::vector<Real>&, std::vector<Real>&, int64_t, int64_t,         \
                                 double);                                                          \
  template void rope_apply<Real>(Real*, const Real*, const Real*, int64_t, int64_t, int64_t,       \
                                 int64_t, bool, ThreadPool*);                                      \
  template void attention_forward<Real>(Real*, Real*, const Real*, const Real*, const Real*,       \
                                        int64_t, int64_t, int64_t, int64_t, int64_t, ThreadPool*); \
  template void attention_backward<Real>(Real*, Real*, Real*, const Real*, const Real*,            \
                                         const Real*, const Real*, const Real*, int64_t, int64_t,  \
                                         int64_t, int64_t, int64_t, ThreadPool*);                  \
  template void swiglu_forward<Real>(Real*, const Real*, const Real*, int64_t, ThreadPool*);       \
  template void swiglu_backward<Real>(Real*, Real*, const Real*, const Real*, const Real*,         \
                                      int64_t, ThreadPool*);                                       \
  template void cross_entropy_forward<Real>(Real*, const Real*, const int32_t*, int64_t, int64_t,  \
                                            ThreadPool*);                                          \
  template void cross_entropy_backward<Real>(Real*, const int32_t*, int64_t, int64_t, Real,        \
                                             ThreadPool*);

SHERRY_INSTANTIATE_LAYERS(float)
SHERRY_INSTANTIATE_LAYERS(double)

}  // namespace sherry::train
