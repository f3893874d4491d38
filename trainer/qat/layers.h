// Forward/backward function pairs of the Llama layers, one pair per layer (llm.c style).
// Activations are token-major: n tokens = batch · seq_len rows; token r sits at position r %
// seq_len. Backward functions ACCUMULATE (+=) into parameter gradients and into input gradients
// unless the comment says "writes". Templated on the scalar: float for training, double for
// gradient checks.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"

namespace sherry::train {

// Runs body(begin, end) over [0, tasks) on the pool, or inline when pool is null.
template <class Body>
void parallel_ranges(ThreadPool* pool, int64_t tasks, int64_t grain, Body&& body) {
  if (pool == nullptr) {
    body(int64_t{0}, tasks);
    return;
  }
  pool->parallel_for(tasks, grain, [&](int64_t begin, int64_t end, int) { body(begin, end); });
}

// out (n × dim) = table[tokens[r]] rows.
template <class Real>
void embedding_forward(Real* out, const int32_t* tokens, const Real* table, int64_t n, int64_t dim);
template <class Real>
void embedding_backward(Real* dtable, const Real* dout, const int32_t* tokens, int64_t n,
                        int64_t dim);

// out = x · rstd · weight with rstd = 1 / sqrt(mean(x²) + eps) per row; rstd (n) is saved.
template <class Real>
void rmsnorm_forward(Real* out, Real* rstd, const Real* x, const Real* weight, int64_t n,
                     int64_t dim, Real eps, ThreadPool* pool);
template <class Real>
void rmsnorm_backward(Real* dx, Real* dweight, const Real* dout, const Real* x, const Real* weight,
                      const Real* rstd, int64_t n, int64_t dim, ThreadPool* pool);

// out (n × rows) = x (n × cols) · wᵀ + beta · out, w is (rows × cols). GEMMs split their
// output over the pool's threads (trainer/qat/blas.h).
template <class Real>
void linear_forward(Real* out, const Real* x, const Real* w, int64_t n, int64_t rows, int64_t cols,
                    ThreadPool* pool, Real beta = Real(0));
// dx += dout · w (skipped when dx is null); dw += weight_grad_scale · doutᵀ · x.
template <class Real>
void linear_backward(Real* dx, Real* dw, const Real* dout, const Real* x, const Real* w, int64_t n,
                     int64_t rows, int64_t cols, Real weight_grad_scale, ThreadPool* pool);

// RoPE cos/sin table for positions 0..seq_len-1 and pairs i = 0..head_dim/2-1:
// angle = pos · theta^(-2i / head_dim). Layout (seq_len × head_dim/2) each.
template <class Real>
void rope_table(std::vector<Real>& cos_table, std::vector<Real>& sin_table, int64_t seq_len,
                int64_t head_dim, double theta);
// In place on the first heads·head_dim values of each row of x (n rows, row stride ld).
// llama.cpp's rope type NORM (the GGUF Llama convention): ADJACENT pairs (x[2i], x[2i+1]) rotate
// by the angle of pair i. inverse = false: x' = (x0 c − x1 s, x0 s + x1 c); inverse = true
// applies the transpose, which is the backward pass of the forward rotation.
template <class Real>
void rope_apply(Real* x, int64_t ld, const Real* cos_table, const Real* sin_table, int64_t n,
                int64_t seq_len, int64_t heads, int64_t head_dim, bool inverse, ThreadPool* pool);

// Causal multi-head attention with GQA, computed tile by tile without keeping the probabilities
// (the backward pass recomputes them from q, k and the saved log-sum-exp). q, k, v: rows of stride
// ld_qkv (q: heads·hd values, k and v: kv_heads·hd, e.g. three column ranges of one fused
// q|k|v activation); out (n × heads·hd) contiguous; lse (batch × heads × seq) receives the
// log-sum-exp of each query row's scaled scores. Writes out and lse.
template <class Real>
void attention_forward(Real* out, Real* lse, const Real* q, const Real* k, const Real* v,
                       int64_t ld_qkv, int64_t batch, int64_t seq_len, int64_t heads,
                       int64_t kv_heads, int64_t head_dim, ThreadPool* pool);
// Writes dq, dk, dv (rows of stride ld_dqkv, laid out like q, k, v). out and lse: the forward's.
template <class Real>
void attention_backward(Real* dq, Real* dk, Real* dv, int64_t ld_dqkv, const Real* dout,
                        const Real* out, const Real* lse, const Real* q, const Real* k,
                        const Real* v, int64_t ld_qkv, int64_t batch, int64_t seq_len,
                        int64_t heads, int64_t kv_heads, int64_t head_dim, ThreadPool* pool);

// SwiGLU on a fused gate|up activation (n × 2·hidden: row r = gate values, then up values):
// out (n × hidden) = silu(gate) · up. Writes out.
template <class Real>
void swiglu_forward(Real* out, const Real* gate_up, int64_t n, int64_t hidden, ThreadPool* pool);
// Writes dgate_up (n × 2·hidden, the layout of gate_up).
template <class Real>
void swiglu_backward(Real* dgate_up, const Real* dout, const Real* gate_up, int64_t n,
                     int64_t hidden, ThreadPool* pool);

// Per-row cross entropy of logits (n × vocab) against targets: writes losses (n) and the
// log-sum-exp of each row (n), which the backward pass reuses.
template <class Real>
void cross_entropy_forward(Real* losses, Real* lse, const Real* logits, const int32_t* targets,
                           int64_t n, int64_t vocab, ThreadPool* pool);
// Turns logits into dlogits IN PLACE: scale · (softmax − onehot(target)), softmax = exp(logit −
// lse) in one pass.
template <class Real>
void cross_entropy_backward(Real* logits, const Real* lse, const int32_t* targets, int64_t n,
                            int64_t vocab, Real scale, ThreadPool* pool);

}  // namespace sherry::train
