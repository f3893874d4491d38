#include "trainer/qat/layers.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "trainer/qat/blas.h"
#include "trainer/qat/vector_math.h"

namespace sherry::train {

namespace {

// The loops below are compiled for AVX-512 and AVX2 besides the baseline and picked at load time
// (the project builds for baseline x86-64; OpenBLAS dispatches on its own). The small helpers are
// inlined into them, so they get the clone's instruction set.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SHERRY_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SHERRY_VECTOR_CLONES
#endif

int64_t round_up(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// Register tiles of the attention loops: kRows query rows at a time, W = kLanes<Real> columns
// (one 64-byte vector, the accumulators live in registers across the inner loop).
constexpr int kForwardRows = 4;
constexpr int kBackwardRows = 8;

// One 64-byte vector of Real (GCC vector extensions: zmm in the AVX-512 clone, two ymm in the
// AVX2 one, four xmm in the baseline), loaded and stored unaligned. The helpers taking and
// returning it are always inlined into the clones, so no call ever passes one: GCC's note that
// such a return "changes the ABI" without AVX-512 does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
template <class Real>
struct VectorOf;
template <>
struct VectorOf<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <>
struct VectorOf<double> {
  typedef double type __attribute__((vector_size(64)));
};
template <class Real>
using Vec = typename VectorOf<Real>::type;

template <class Real>
[[gnu::always_inline]] inline Vec<Real> load_vec(const Real* p) {
  Vec<Real> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class Real>
[[gnu::always_inline]] inline void store_vec(Real* p, const Vec<Real>& v) {
  std::memcpy(p, &v, sizeof v);
}

// The first min(count, lanes) values of v to p: the last vector of a head row may be partial.
template <class Real>
[[gnu::always_inline]] inline void store_head(Real* p, const Vec<Real>& v, int64_t count) {
  if (count >= kLanes<Real>) {
    store_vec(p, v);
    return;
  }
  for (int64_t j = 0; j < count; ++j) p[j] = v[j];
}

// R accumulator vectors (registers): c[r] = Σ_i a[r·a_stride + i·a_step] · bt[i·ldb + 0..W),
// i < inner, for r < rows (the others stay 0). Used for rows of q·Kᵀ (bt = Kᵀ, padded), dO·Vᵀ,
// P·V and dS·K (bt = V or K rows), dSᵀ·Q and Pᵀ·dO (a read down columns).
template <int R, class Real>
[[gnu::always_inline]] inline void tile_rows_times(Vec<Real> (&c)[R], int rows, const Real* a,
                                                   int64_t a_stride, int64_t a_step, const Real* bt,
                                                   int64_t ldb, int64_t inner) {
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) c[r] = Vec<Real>{};
  if (rows == R) {
    for (int64_t i = 0; i < inner; ++i) {
      const Vec<Real> b = load_vec(bt + i * ldb);
      const Real* ai = a + i * a_step;
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) c[r] += b * ai[r * a_stride];
    }
    return;
  }
  for (int64_t i = 0; i < inner; ++i) {
    const Vec<Real> b = load_vec(bt + i * ldb);
    const Real* ai = a + i * a_step;
    for (int r = 0; r < rows; ++r) c[r] += b * ai[r * a_stride];
  }
}

// One (batch, head) at a time: scores of kForwardRows query rows against all earlier keys, the
// softmax with its log-sum-exp, then P·V, with Kᵀ and V copied (zero-padded) into scratch once per
// task.
template <class Real>
SHERRY_VECTOR_CLONES void attention_forward_tasks(Real* out, Real* lse, const Real* q,
                                                  const Real* k, const Real* v, int64_t ld,
                                                  int64_t seq_len, int64_t heads, int64_t kv_heads,
                                                  int64_t head_dim, int64_t begin, int64_t end) {
  constexpr int W = kLanes<Real>;
  constexpr int R = kForwardRows;
  const int64_t group = heads / kv_heads;
  const int64_t qd = heads * head_dim;
  const int64_t seq_pad = round_up(seq_len, W), hd_pad = round_up(head_dim, W);
  const Real scale = Real(1) / std::sqrt(static_cast<Real>(head_dim));
  std::vector<Real> kt(head_dim * seq_pad, Real(0));  // (head_dim, seq_pad) = Kᵀ
  std::vector<Real> vc(seq_pad * hd_pad, Real(0));    // (seq_pad, hd_pad) = V
  std::vector<Real> p(R * seq_pad);                   // scores, then probabilities
  Vec<Real> acc[R];
  for (int64_t task = begin; task < end; ++task) {
    const int64_t b = task / heads, h = task % heads, kvh = h / group;
    const Real* q_bh = q + b * seq_len * ld + h * head_dim;
    for (int64_t s = 0; s < seq_len; ++s) {
      const Real* ks = k + (b * seq_len + s) * ld + kvh * head_dim;
      const Real* vs = v + (b * seq_len + s) * ld + kvh * head_dim;
      for (int64_t i = 0; i < head_dim; ++i) {
        kt[i * seq_pad + s] = ks[i];
        vc[s * hd_pad + i] = vs[i];
      }
    }
    for (int64_t t0 = 0; t0 < seq_len; t0 += R) {
      const int rows = static_cast<int>(std::min<int64_t>(R, seq_len - t0));
      const int64_t len = t0 + rows;  // keys any row of the tile may see
      for (int64_t j0 = 0; j0 < len; j0 += W) {
        tile_rows_times<R>(acc, rows, q_bh + t0 * ld, ld, 1, kt.data() + j0, seq_pad, head_dim);
        for (int r = 0; r < rows; ++r) store_vec(p.data() + r * seq_pad + j0, acc[r] * scale);
      }
      for (int r = 0; r < rows; ++r) {
        const int64_t t = t0 + r, keys = t + 1;
        Real* pr = p.data() + r * seq_pad;
        Real max_score = pr[0];
        for (int64_t s = 1; s < keys; ++s) max_score = std::max(max_score, pr[s]);
        Real partial[W] = {};
        int64_t s = 0;
        for (; s + W <= keys; s += W)
          for (int j = 0; j < W; ++j) {
            pr[s + j] = exp_approx(pr[s + j] - max_score);
            partial[j] += pr[s + j];
          }
        for (; s < keys; ++s) {
          pr[s] = exp_approx(pr[s] - max_score);
          partial[0] += pr[s];
        }
        Real sum = 0;
        for (int j = 0; j < W; ++j) sum += partial[j];
        lse[(b * heads + h) * seq_len + t] = max_score + std::log(sum);
        const Real inv = Real(1) / sum;
        for (s = 0; s < keys; ++s) pr[s] *= inv;
        for (; s < round_up(len, W); ++s) pr[s] = Real(0);  // masked: later keys of the tile
      }
      for (int64_t i0 = 0; i0 < head_dim; i0 += W) {
        tile_rows_times<R>(acc, rows, p.data(), seq_pad, 1, vc.data() + i0, hd_pad, len);
        for (int r = 0; r < rows; ++r) {
          store_head(out + (b * seq_len + t0 + r) * qd + h * head_dim + i0, acc[r], head_dim - i0);
        }
      }
    }
  }
}

// One (batch, kv head) at a time, its query heads in turn, kBackwardRows query rows per tile:
// recompute P = exp(q·k·scale − lse), dP = dO·Vᵀ, dS = P ⊙ (dP − D)·scale with D = Σ dO ⊙ O per
// row; then dQ = dS·K, dK += dSᵀ·Q, dV += Pᵀ·dO. dK and dV accumulate in scratch over the
// group's heads and are written once.
template <class Real>
SHERRY_VECTOR_CLONES void attention_backward_tasks(Real* dq, Real* dk, Real* dv, int64_t ld_d,
                                                   const Real* dout, const Real* out,
                                                   const Real* lse, const Real* q, const Real* k,
                                                   const Real* v, int64_t ld, int64_t seq_len,
                                                   int64_t heads, int64_t kv_heads,
                                                   int64_t head_dim, int64_t begin, int64_t end) {
  constexpr int W = kLanes<Real>;
  constexpr int R = kBackwardRows;
  const int64_t group = heads / kv_heads;
  const int64_t qd = heads * head_dim;
  const int64_t seq_pad = round_up(seq_len, W), hd_pad = round_up(head_dim, W);
  const Real scale = Real(1) / std::sqrt(static_cast<Real>(head_dim));
  std::vector<Real> kt(head_dim * seq_pad, Real(0));  // Kᵀ
  std::vector<Real> vt(head_dim * seq_pad, Real(0));  // Vᵀ
  std::vector<Real> kc(seq_pad * hd_pad, Real(0));    // K rows, padded
  std::vector<Real> dk_acc(seq_pad * hd_pad), dv_acc(seq_pad * hd_pad);
  std::vector<Real> qc(R * hd_pad, Real(0)), doc(R * hd_pad, Real(0));  // the tile's Q, dO rows
  std::vector<Real> p(R * seq_pad), ds(R * seq_pad);
  Vec<Real> acc[R];
  for (int64_t task = begin; task < end; ++task) {
    const int64_t b = task / kv_heads, kvh = task % kv_heads;
    for (int64_t s = 0; s < seq_len; ++s) {
      const Real* ks = k + (b * seq_len + s) * ld + kvh * head_dim;
      const Real* vs = v + (b * seq_len + s) * ld + kvh * head_dim;
      for (int64_t i = 0; i < head_dim; ++i) {
        kt[i * seq_pad + s] = ks[i];
        vt[i * seq_pad + s] = vs[i];
        kc[s * hd_pad + i] = ks[i];
      }
    }
    std::fill(dk_acc.begin(), dk_acc.end(), Real(0));
    std::fill(dv_acc.begin(), dv_acc.end(), Real(0));
    for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
      const Real* lse_bh = lse + (b * heads + h) * seq_len;
      for (int64_t t0 = 0; t0 < seq_len; t0 += R) {
        const int rows = static_cast<int>(std::min<int64_t>(R, seq_len - t0));
        const int64_t len = t0 + rows, len_pad = round_up(len, W);
        Real d_row[R];
        for (int r = 0; r < rows; ++r) {
          const int64_t row = (b * seq_len + t0 + r);
          const Real* qt = q + row * ld + h * head_dim;
          const Real* dot = dout + row * qd + h * head_dim;
          const Real* ot = out + row * qd + h * head_dim;
          Real d = 0;
          for (int64_t i = 0; i < head_dim; ++i) {
            qc[r * hd_pad + i] = qt[i];
            doc[r * hd_pad + i] = dot[i];
            d += dot[i] * ot[i];
          }
          d_row[r] = d;
        }
        for (int r = rows; r < R; ++r) {
          std::fill_n(qc.data() + r * hd_pad, hd_pad, Real(0));
          std::fill_n(doc.data() + r * hd_pad, hd_pad, Real(0));
        }
        for (int64_t j0 = 0; j0 < len; j0 += W) {
          tile_rows_times<R>(acc, rows, qc.data(), hd_pad, 1, kt.data() + j0, seq_pad, head_dim);
          for (int r = 0; r < rows; ++r) store_vec(p.data() + r * seq_pad + j0, acc[r]);
          tile_rows_times<R>(acc, rows, doc.data(), hd_pad, 1, vt.data() + j0, seq_pad, head_dim);
          for (int r = 0; r < rows; ++r) store_vec(ds.data() + r * seq_pad + j0, acc[r]);
        }
        for (int r = 0; r < R; ++r) {
          Real* pr = p.data() + r * seq_pad;
          Real* dsr = ds.data() + r * seq_pad;
          if (r >= rows) {  // padding rows of the last tile: no contribution
            std::fill_n(pr, len_pad, Real(0));
            std::fill_n(dsr, len_pad, Real(0));
            continue;
          }
          const int64_t keys = t0 + r + 1;
          const Real l = lse_bh[t0 + r], d = d_row[r];
          for (int64_t s = 0; s < keys; ++s) {
            const Real prob = exp_approx(pr[s] * scale - l);
            pr[s] = prob;
            dsr[s] = prob * (dsr[s] - d) * scale;
          }
          for (int64_t s = keys; s < len_pad; ++s) pr[s] = dsr[s] = Real(0);
        }
        // dQ rows = dS · K
        for (int64_t i0 = 0; i0 < head_dim; i0 += W) {
          tile_rows_times<R>(acc, rows, ds.data(), seq_pad, 1, kc.data() + i0, hd_pad, len);
          for (int r = 0; r < rows; ++r) {
            store_head(dq + (b * seq_len + t0 + r) * ld_d + h * head_dim + i0, acc[r],
                       head_dim - i0);
          }
        }
        // dK rows j += Σ_r dS[r][j] Q_r, dV rows j += Σ_r P[r][j] dO_r: R keys at a time
        for (int64_t j0 = 0; j0 < len; j0 += R) {
          const int keys = static_cast<int>(std::min<int64_t>(R, len - j0));
          for (int64_t i0 = 0; i0 < hd_pad; i0 += W) {
            tile_rows_times<R>(acc, keys, ds.data() + j0, 1, seq_pad, qc.data() + i0, hd_pad, R);
            for (int r = 0; r < keys; ++r) {
              Real* row = dk_acc.data() + (j0 + r) * hd_pad + i0;
              store_vec(row, load_vec(row) + acc[r]);
            }
            tile_rows_times<R>(acc, keys, p.data() + j0, 1, seq_pad, doc.data() + i0, hd_pad, R);
            for (int r = 0; r < keys; ++r) {
              Real* row = dv_acc.data() + (j0 + r) * hd_pad + i0;
              store_vec(row, load_vec(row) + acc[r]);
            }
          }
        }
      }
    }
    for (int64_t s = 0; s < seq_len; ++s) {
      Real* dks = dk + (b * seq_len + s) * ld_d + kvh * head_dim;
      Real* dvs = dv + (b * seq_len + s) * ld_d + kvh * head_dim;
      for (int64_t i = 0; i < head_dim; ++i) {
        dks[i] = dk_acc[s * hd_pad + i];
        dvs[i] = dv_acc[s * hd_pad + i];
      }
    }
  }
}

template <class Real>
SHERRY_VECTOR_CLONES void cross_entropy_rows(Real* losses, Real* lse, const Real* logits,
                                             const int32_t* targets, int64_t vocab, int64_t begin,
                                             int64_t end) {
  constexpr int W = kLanes<Real>;
  for (int64_t r = begin; r < end; ++r) {
    const Real* row = logits + r * vocab;
    Real max_logit = row[0];
    for (int64_t i = 1; i < vocab; ++i) max_logit = std::max(max_logit, row[i]);
    Real partial[W] = {};
    int64_t i = 0;
    for (; i + W <= vocab; i += W)
      for (int j = 0; j < W; ++j) partial[j] += exp_approx(row[i + j] - max_logit);
    for (; i < vocab; ++i) partial[0] += exp_approx(row[i] - max_logit);
    Real sum = 0;
    for (int j = 0; j < W; ++j) sum += partial[j];
    lse[r] = max_logit + std::log(sum);
    losses[r] = lse[r] - row[targets[r]];
  }
}

template <class Real>
SHERRY_VECTOR_CLONES void cross_entropy_gradient_rows(Real* logits, const Real* lse,
                                                      const int32_t* targets, int64_t vocab,
                                                      Real scale, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    Real* row = logits + r * vocab;
    const Real l = lse[r];
    for (int64_t i = 0; i < vocab; ++i) row[i] = exp_approx(row[i] - l) * scale;
    row[targets[r]] -= scale;
  }
}

template <class Real>
SHERRY_VECTOR_CLONES void swiglu_rows(Real* out, const Real* gate_up, int64_t hidden, int64_t begin,
                                      int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const Real* g = gate_up + r * 2 * hidden;
    const Real* u = g + hidden;
    Real* o = out + r * hidden;
    for (int64_t i = 0; i < hidden; ++i) o[i] = g[i] * sigmoid(g[i]) * u[i];
  }
}

template <class Real>
SHERRY_VECTOR_CLONES void swiglu_backward_rows(Real* dgate_up, const Real* dout,
                                               const Real* gate_up, int64_t hidden, int64_t begin,
                                               int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const Real* g = gate_up + r * 2 * hidden;
    const Real* u = g + hidden;
    const Real* d = dout + r * hidden;
    Real* dg = dgate_up + r * 2 * hidden;
    Real* du = dg + hidden;
    for (int64_t i = 0; i < hidden; ++i) {
      const Real sig = sigmoid(g[i]);
      du[i] = d[i] * g[i] * sig;
      dg[i] = d[i] * u[i] * sig * (Real(1) + g[i] * (Real(1) - sig));
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
  // dweight: each thread owns a range of columns and sums them over the rows in order, so the
  // result does not depend on the thread count.
  parallel_ranges(pool, dim, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = 0; r < n; ++r)
      for (int64_t i = begin; i < end; ++i)
        dweight[i] += dout[r * dim + i] * x[r * dim + i] * rstd[r];
  });
}

template <class Real>
void linear_forward(Real* out, const Real* x, const Real* w, int64_t n, int64_t rows, int64_t cols,
                    ThreadPool* pool, Real beta) {
  gemm<Real>(false, true, n, rows, cols, Real(1), x, cols, w, cols, beta, out, rows, pool);
}

template <class Real>
void linear_backward(Real* dx, Real* dw, const Real* dout, const Real* x, const Real* w, int64_t n,
                     int64_t rows, int64_t cols, Real weight_grad_scale, ThreadPool* pool) {
  if (dx != nullptr)
    gemm<Real>(false, false, n, cols, rows, Real(1), dout, rows, w, cols, Real(1), dx, cols, pool);
  gemm<Real>(true, false, rows, cols, n, weight_grad_scale, dout, rows, x, cols, Real(1), dw, cols,
             pool);
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
void rope_apply(Real* x, int64_t ld, const Real* cos_table, const Real* sin_table, int64_t n,
                int64_t seq_len, int64_t heads, int64_t head_dim, bool inverse, ThreadPool* pool) {
  const int64_t half = head_dim / 2;
  parallel_ranges(pool, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t pos = r % seq_len;
      const Real* c = cos_table + pos * half;
      const Real* s = sin_table + pos * half;
      for (int64_t h = 0; h < heads; ++h) {
        Real* xh = x + r * ld + h * head_dim;
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

template <class Real>
void attention_forward(Real* out, Real* lse, const Real* q, const Real* k, const Real* v,
                       int64_t ld_qkv, int64_t batch, int64_t seq_len, int64_t heads,
                       int64_t kv_heads, int64_t head_dim, ThreadPool* pool) {
  parallel_ranges(pool, batch * heads, 1, [&](int64_t begin, int64_t end) {
    attention_forward_tasks(out, lse, q, k, v, ld_qkv, seq_len, heads, kv_heads, head_dim, begin,
                            end);
  });
}

template <class Real>
void attention_backward(Real* dq, Real* dk, Real* dv, int64_t ld_dqkv, const Real* dout,
                        const Real* out, const Real* lse, const Real* q, const Real* k,
                        const Real* v, int64_t ld_qkv, int64_t batch, int64_t seq_len,
                        int64_t heads, int64_t kv_heads, int64_t head_dim, ThreadPool* pool) {
  parallel_ranges(pool, batch * kv_heads, 1, [&](int64_t begin, int64_t end) {
    attention_backward_tasks(dq, dk, dv, ld_dqkv, dout, out, lse, q, k, v, ld_qkv, seq_len, heads,
                             kv_heads, head_dim, begin, end);
  });
}

template <class Real>
void swiglu_forward(Real* out, const Real* gate_up, int64_t n, int64_t hidden, ThreadPool* pool) {
  parallel_ranges(pool, n, 8, [&](int64_t begin, int64_t end) {
    swiglu_rows(out, gate_up, hidden, begin, end);
  });
}

template <class Real>
void swiglu_backward(Real* dgate_up, const Real* dout, const Real* gate_up, int64_t n,
                     int64_t hidden, ThreadPool* pool) {
  parallel_ranges(pool, n, 8, [&](int64_t begin, int64_t end) {
    swiglu_backward_rows(dgate_up, dout, gate_up, hidden, begin, end);
  });
}

template <class Real>
void cross_entropy_forward(Real* losses, Real* lse, const Real* logits, const int32_t* targets,
                           int64_t n, int64_t vocab, ThreadPool* pool) {
  parallel_ranges(pool, n, 8, [&](int64_t begin, int64_t end) {
    cross_entropy_rows(losses, lse, logits, targets, vocab, begin, end);
  });
}

template <class Real>
void cross_entropy_backward(Real* logits, const Real* lse, const int32_t* targets, int64_t n,
                            int64_t vocab, Real scale, ThreadPool* pool) {
  parallel_ranges(pool, n, 8, [&](int64_t begin, int64_t end) {
    cross_entropy_gradient_rows(logits, lse, targets, vocab, scale, begin, end);
  });
}

#define SHERRY_INSTANTIATE_LAYERS(Real)                                                            \
  template void embedding_forward<Real>(Real*, const int32_t*, const Real*, int64_t, int64_t);     \
  template void embedding_backward<Real>(Real*, const Real*, const int32_t*, int64_t, int64_t);    \
  template void rmsnorm_forward<Real>(Real*, Real*, const Real*, const Real*, int64_t, int64_t,    \
                                      Real, ThreadPool*);                                          \
  template void rmsnorm_backward<Real>(Real*, Real*, const Real*, const Real*, const Real*,        \
                                       const Real*, int64_t, int64_t, ThreadPool*);                \
  template void linear_forward<Real>(Real*, const Real*, const Real*, int64_t, int64_t, int64_t,   \
                                     ThreadPool*, Real);                                           \
  template void linear_backward<Real>(Real*, Real*, const Real*, const Real*, const Real*,         \
                                      int64_t, int64_t, int64_t, Real, ThreadPool*);               \
  template void rope_table<Real>(std::vector<Real>&, std::vector<Real>&, int64_t, int64_t,         \
                                 double);                                                          \
  template void rope_apply<Real>(Real*, int64_t, const Real*, const Real*, int64_t, int64_t,       \
                                 int64_t, int64_t, bool, ThreadPool*);                             \
  template void attention_forward<Real>(Real*, Real*, const Real*, const Real*, const Real*,       \
                                        int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,      \
                                        ThreadPool*);                                              \
  template void attention_backward<Real>(Real*, Real*, Real*, int64_t, const Real*, const Real*,   \
                                         const Real*, const Real*, const Real*, const Real*,       \
                                         int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,     \
                                         ThreadPool*);                                             \
  template void swiglu_forward<Real>(Real*, const Real*, int64_t, int64_t, ThreadPool*);           \
  template void swiglu_backward<Real>(Real*, const Real*, const Real*, int64_t, int64_t,           \
                                      ThreadPool*);                                                \
  template void cross_entropy_forward<Real>(Real*, Real*, const Real*, const int32_t*, int64_t,    \
                                            int64_t, ThreadPool*);                                 \
  template void cross_entropy_backward<Real>(Real*, const Real*, const int32_t*, int64_t, int64_t, \
                                             Real, ThreadPool*);

SHERRY_INSTANTIATE_LAYERS(float)
SHERRY_INSTANTIATE_LAYERS(double)

}  // namespace sherry::train
