// Every layer's backward pass against central finite differences in double precision:
// loss = Σ r ⊙ forward(inputs) with a fixed random r, so d loss / d out = r.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "tests/trainer/gradient_check.h"
#include "trainer/qat/layers.h"

namespace sherry::train {
namespace {

using testing::check_gradient;
using testing::random_vector;

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

TEST_CASE("rmsnorm backward matches finite differences") {
  const int64_t n = 3, dim = 8;
  auto x = random_vector(n * dim, 1);
  auto w = random_vector(dim, 2);
  const auto r = random_vector(n * dim, 3);
  std::vector<double> out(n * dim), rstd(n);
  auto loss = [&] {
    rmsnorm_forward<double>(out.data(), rstd.data(), x.data(), w.data(), n, dim, 1e-5, nullptr);
    return dot(out, r);
  };
  loss();
  std::vector<double> dx(n * dim, 0.0), dw(dim, 0.0);
  rmsnorm_backward<double>(dx.data(), dw.data(), r.data(), x.data(), w.data(), rstd.data(), n, dim,
                           nullptr);
  check_gradient("rmsnorm dx", x, dx, loss);
  check_gradient("rmsnorm dweight", w, dw, loss);
}

TEST_CASE("linear backward matches finite differences and scales the weight gradient") {
  const int64_t n = 4, rows = 5, cols = 6;
  auto x = random_vector(n * cols, 4);
  auto w = random_vector(rows * cols, 5);
  const auto r = random_vector(n * rows, 6);
  std::vector<double> out(n * rows);
  auto loss = [&] {
    linear_forward<double>(out.data(), x.data(), w.data(), n, rows, cols, nullptr);
    return dot(out, r);
  };
  std::vector<double> dx(n * cols, 0.0), dw(rows * cols, 0.0);
  linear_backward<double>(dx.data(), dw.data(), r.data(), x.data(), w.data(), n, rows, cols, 1.0,
                          nullptr);
  check_gradient("linear dx", x, dx, loss);
  check_gradient("linear dw", w, dw, loss);
  std::vector<double> dw_scaled(rows * cols, 0.0);
  linear_backward<double>(nullptr, dw_scaled.data(), r.data(), x.data(), w.data(), n, rows, cols,
                          1.5, nullptr);
  for (size_t i = 0; i < dw.size(); ++i) CHECK(dw_scaled[i] == doctest::Approx(1.5 * dw[i]));
}

TEST_CASE("rope inverse undoes the forward rotation and is its backward") {
  const int64_t seq = 5, heads = 2, hd = 8, n = 2 * seq;
  std::vector<double> cos_t, sin_t;
  rope_table(cos_t, sin_t, seq, hd, 10000.0);
  auto x = random_vector(n * heads * hd, 7);
  const auto r = random_vector(n * heads * hd, 8);
  std::vector<double> y;
  auto loss = [&] {
    y = x;
    rope_apply(y.data(), heads * hd, cos_t.data(), sin_t.data(), n, seq, heads, hd, false, nullptr);
    return dot(y, r);
  };
  loss();
  std::vector<double> back = y;
  rope_apply(back.data(), heads * hd, cos_t.data(), sin_t.data(), n, seq, heads, hd, true, nullptr);
  for (size_t i = 0; i < x.size(); ++i) CHECK(back[i] == doctest::Approx(x[i]).epsilon(1e-12));
  std::vector<double> dx = r;
  rope_apply(dx.data(), heads * hd, cos_t.data(), sin_t.data(), n, seq, heads, hd, true, nullptr);
  check_gradient("rope dx", x, dx, loss);
}

TEST_CASE("rope rotates adjacent pairs by pos times theta to the minus 2i over head_dim") {
  // The llama.cpp NORM convention, checked on one value the runtime must agree with.
  const int64_t seq = 4, hd = 4;
  std::vector<double> cos_t, sin_t;
  rope_table(cos_t, sin_t, seq, hd, 10000.0);
  std::vector<double> x(seq * hd, 0.0);
  x[3 * hd + 2] = 1.0;  // position 3, pair 1, first element
  rope_apply(x.data(), hd, cos_t.data(), sin_t.data(), seq, seq, 1, hd, false, nullptr);
  const double angle = 3.0 * std::pow(10000.0, -2.0 / 4.0);
  CHECK(x[3 * hd + 2] == doctest::Approx(std::cos(angle)));
  CHECK(x[3 * hd + 3] == doctest::Approx(std::sin(angle)));
  CHECK(x[3 * hd + 0] == 0.0);
}

// A fused q|k|v activation: rows of heads·hd query values, then kv_heads·hd key and value values.
struct AttentionShape {
  int64_t batch, seq, heads, kv_heads, hd;
  int64_t n() const { return batch * seq; }
  int64_t q_cols() const { return heads * hd; }
  int64_t kv_cols() const { return kv_heads * hd; }
  int64_t ld() const { return q_cols() + 2 * kv_cols(); }
};

// The naive causal softmax(QKᵀ/√hd)V with GQA, in double, straight from the definition.
std::vector<double> reference_attention(const std::vector<double>& qkv, const AttentionShape& a) {
  std::vector<double> out(a.n() * a.q_cols(), 0.0);
  const int64_t group = a.heads / a.kv_heads;
  for (int64_t b = 0; b < a.batch; ++b)
    for (int64_t h = 0; h < a.heads; ++h)
      for (int64_t t = 0; t < a.seq; ++t) {
        const double* q = qkv.data() + (b * a.seq + t) * a.ld() + h * a.hd;
        std::vector<double> score(t + 1);
        double max_score = -INFINITY;
        for (int64_t s = 0; s <= t; ++s) {
          const double* k = qkv.data() + (b * a.seq + s) * a.ld() + a.q_cols() + (h / group) * a.hd;
          double dot = 0;
          for (int64_t i = 0; i < a.hd; ++i) dot += q[i] * k[i];
          score[s] = dot / std::sqrt(static_cast<double>(a.hd));
          max_score = std::max(max_score, score[s]);
        }
        double sum = 0;
        for (double& x : score) sum += x = std::exp(x - max_score);
        double* o = out.data() + (b * a.seq + t) * a.q_cols() + h * a.hd;
        for (int64_t s = 0; s <= t; ++s) {
          const double* v =
              qkv.data() + (b * a.seq + s) * a.ld() + a.q_cols() + a.kv_cols() + (h / group) * a.hd;
          for (int64_t i = 0; i < a.hd; ++i) o[i] += score[s] / sum * v[i];
        }
      }
  return out;
}

template <class Real>
void run_attention(const AttentionShape& a, const std::vector<Real>& qkv, std::vector<Real>& out,
                   std::vector<Real>& lse, ThreadPool* pool) {
  out.assign(a.n() * a.q_cols(), Real(0));
  lse.assign(a.n() * a.heads, Real(0));
  attention_forward<Real>(out.data(), lse.data(), qkv.data(), qkv.data() + a.q_cols(),
                          qkv.data() + a.q_cols() + a.kv_cols(), a.ld(), a.batch, a.seq, a.heads,
                          a.kv_heads, a.hd, pool);
}

template <class Real>
std::vector<Real> run_attention_backward(const AttentionShape& a, const std::vector<Real>& qkv,
                                         const std::vector<Real>& out, const std::vector<Real>& lse,
                                         const std::vector<Real>& dout, ThreadPool* pool) {
  std::vector<Real> dqkv(qkv.size(), Real(7));  // every value must be written
  attention_backward<Real>(dqkv.data(), dqkv.data() + a.q_cols(),
                           dqkv.data() + a.q_cols() + a.kv_cols(), a.ld(), dout.data(), out.data(),
                           lse.data(), qkv.data(), qkv.data() + a.q_cols(),
                           qkv.data() + a.q_cols() + a.kv_cols(), a.ld(), a.batch, a.seq, a.heads,
                           a.kv_heads, a.hd, pool);
  return dqkv;
}

// Shapes below, at and above the register tiles (4 query rows forward, 8 backward, 8 doubles or
// 16 floats per vector), head_dim not a multiple of the vector width.
constexpr AttentionShape kAttentionShapes[] = {
    {2, 4, 4, 2, 3},
    {1, 21, 2, 1, 10},
    {2, 37, 4, 1, 20},
};

TEST_CASE("attention forward matches the naive reference in double and float") {
  ThreadPool pool(2);
  for (const AttentionShape& a : kAttentionShapes) {
    INFO("batch " << a.batch << " seq " << a.seq << " heads " << a.heads << "/" << a.kv_heads
                  << " head_dim " << a.hd);
    const auto qkv = random_vector(a.n() * a.ld(), 9);
    const std::vector<double> expected = reference_attention(qkv, a);
    std::vector<double> out, lse;
    run_attention(a, qkv, out, lse, &pool);
    for (size_t i = 0; i < out.size(); ++i)
      REQUIRE(out[i] == doctest::Approx(expected[i]).epsilon(1e-12));
    // float: |scores| ≲ 5 here, so exp's ~2 ulp relative error and seq-long float sums give a few
    // 1e−6 of the largest output; 2e−5 absolute leaves margin without hiding a wrong weight.
    std::vector<float> qkv_f(qkv.begin(), qkv.end()), out_f, lse_f;
    run_attention(a, qkv_f, out_f, lse_f, &pool);
    for (size_t i = 0; i < out.size(); ++i) REQUIRE(std::fabs(out_f[i] - expected[i]) < 2e-5);
  }
}

TEST_CASE("attention backward with GQA matches finite differences") {
  ThreadPool pool(2);
  for (const AttentionShape& a : kAttentionShapes) {
    INFO("batch " << a.batch << " seq " << a.seq << " heads " << a.heads << "/" << a.kv_heads
                  << " head_dim " << a.hd);
    auto qkv = random_vector(a.n() * a.ld(), 9);
    const auto r = random_vector(a.n() * a.q_cols(), 12);
    std::vector<double> out, lse;
    auto loss = [&] {
      run_attention(a, qkv, out, lse, nullptr);
      return dot(out, r);
    };
    loss();
    const std::vector<double> dqkv = run_attention_backward(a, qkv, out, lse, r, &pool);
    check_gradient("attention dqkv", qkv, dqkv, loss, 200, 3);
    // The float path against the double one: the gradients sum seq products of values of order 1,
    // so a few 1e−6 of the largest gradient; 1e−4 of it as the bound.
    std::vector<float> qkv_f(qkv.begin(), qkv.end()), r_f(r.begin(), r.end()), out_f, lse_f;
    run_attention(a, qkv_f, out_f, lse_f, &pool);
    const std::vector<float> dqkv_f = run_attention_backward(a, qkv_f, out_f, lse_f, r_f, &pool);
    double largest = 0;
    for (double g : dqkv) largest = std::max(largest, std::fabs(g));
    for (size_t i = 0; i < dqkv.size(); ++i)
      REQUIRE(std::fabs(dqkv_f[i] - dqkv[i]) < 1e-4 * largest);
  }
}

TEST_CASE("attention is causal") {
  const AttentionShape a{1, 5, 1, 1, 2};
  auto qkv = random_vector(a.n() * a.ld(), 13);
  std::vector<double> out, out2, lse;
  run_attention(a, qkv, out, lse, nullptr);
  qkv[4 * a.ld() + a.q_cols() + a.kv_cols()] += 1.0;  // the last position's value
  run_attention(a, qkv, out2, lse, nullptr);
  for (int64_t i = 0; i < 4 * a.hd; ++i) CHECK(out[i] == out2[i]);
  CHECK(out[4 * a.hd] != out2[4 * a.hd]);
}

TEST_CASE("swiglu backward matches finite differences") {
  const int64_t n = 3, hidden = 21;  // a row longer than a vector, not a multiple of it
  auto gate_up = random_vector(n * 2 * hidden, 16, 2.0);
  const auto r = random_vector(n * hidden, 18);
  std::vector<double> out(n * hidden);
  auto loss = [&] {
    swiglu_forward<double>(out.data(), gate_up.data(), n, hidden, nullptr);
    return dot(out, r);
  };
  loss();
  for (int64_t row = 0; row < n; ++row)
    for (int64_t i = 0; i < hidden; ++i) {
      const double g = gate_up[row * 2 * hidden + i], u = gate_up[row * 2 * hidden + hidden + i];
      REQUIRE(out[row * hidden + i] == doctest::Approx(g / (1 + std::exp(-g)) * u).epsilon(1e-14));
    }
  std::vector<double> dgate_up(gate_up.size());
  swiglu_backward<double>(dgate_up.data(), r.data(), gate_up.data(), n, hidden, nullptr);
  check_gradient("swiglu dgate|dup", gate_up, dgate_up, loss);
  // float (vectorized exp, about 2 ulp) against double: 1e−6 relative to the largest output.
  std::vector<float> gate_up_f(gate_up.begin(), gate_up.end()), out_f(out.size());
  swiglu_forward<float>(out_f.data(), gate_up_f.data(), n, hidden, nullptr);
  double largest = 0;
  for (double x : out) largest = std::max(largest, std::fabs(x));
  for (size_t i = 0; i < out.size(); ++i) REQUIRE(std::fabs(out_f[i] - out[i]) < 1e-6 * largest);
}

TEST_CASE("cross entropy backward matches finite differences") {
  const int64_t n = 3, vocab = 37;  // rows longer than a vector, not a multiple of it
  auto logits = random_vector(n * vocab, 19, 3.0);
  const std::vector<int32_t> targets = {0, 36, 3};
  std::vector<double> losses(n), lse(n);
  auto loss = [&] {
    cross_entropy_forward<double>(losses.data(), lse.data(), logits.data(), targets.data(), n,
                                  vocab, nullptr);
    return 0.5 * (losses[0] + losses[1] + losses[2]);
  };
  loss();
  for (int64_t row = 0; row < n; ++row) {  // against the definition
    double sum = 0;
    for (int64_t i = 0; i < vocab; ++i) sum += std::exp(logits[row * vocab + i]);
    REQUIRE(losses[row] ==
            doctest::Approx(std::log(sum) - logits[row * vocab + targets[row]]).epsilon(1e-13));
  }
  std::vector<double> grad = logits;
  cross_entropy_backward<double>(grad.data(), lse.data(), targets.data(), n, vocab, 0.5, nullptr);
  check_gradient("cross entropy dlogits", logits, grad, loss);
  // float against double: the loss is a difference of terms of order 10 here, so 1e−5 absolute.
  std::vector<float> logits_f(logits.begin(), logits.end()), losses_f(n), lse_f(n);
  cross_entropy_forward<float>(losses_f.data(), lse_f.data(), logits_f.data(), targets.data(), n,
                               vocab, nullptr);
  for (int64_t row = 0; row < n; ++row) REQUIRE(std::fabs(losses_f[row] - losses[row]) < 1e-5);
}

TEST_CASE("embedding backward accumulates repeated tokens") {
  const int64_t dim = 3;
  const std::vector<int32_t> tokens = {2, 0, 2};
  auto table = random_vector(4 * dim, 20);
  const auto r = random_vector(3 * dim, 21);
  std::vector<double> out(3 * dim);
  auto loss = [&] {
    embedding_forward<double>(out.data(), tokens.data(), table.data(), 3, dim);
    return dot(out, r);
  };
  std::vector<double> dtable(table.size(), 0.0);
  embedding_backward<double>(dtable.data(), r.data(), tokens.data(), 3, dim);
  check_gradient("embedding dtable", table, dtable, loss);
}

}  // namespace
}  // namespace sherry::train
