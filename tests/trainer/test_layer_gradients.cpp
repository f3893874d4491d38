// Every layer's backward pass against central finite differences in double precision:
// loss = Σ r ⊙ forward(inputs) with a fixed random r, so d loss / d out = r.
#include <doctest/doctest.h>

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
    linear_forward<double>(out.data(), x.data(), w.data(), n, rows, cols);
    return dot(out, r);
  };
  std::vector<double> dx(n * cols, 0.0), dw(rows * cols, 0.0);
  linear_backward<double>(dx.data(), dw.data(), r.data(), x.data(), w.data(), n, rows, cols, 1.0);
  check_gradient("linear dx", x, dx, loss);
  check_gradient("linear dw", w, dw, loss);
  std::vector<double> dw_scaled(rows * cols, 0.0);
  linear_backward<double>(nullptr, dw_scaled.data(), r.data(), x.data(), w.data(), n, rows, cols,
                          1.5);
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
    rope_apply(y.data(), cos_t.data(), sin_t.data(), n, seq, heads, hd, false, nullptr);
    return dot(y, r);
  };
  loss();
  std::vector<double> back = y;
  rope_apply(back.data(), cos_t.data(), sin_t.data(), n, seq, heads, hd, true, nullptr);
  for (size_t i = 0; i < x.size(); ++i) CHECK(back[i] == doctest::Approx(x[i]).epsilon(1e-12));
  std::vector<double> dx = r;
  rope_apply(dx.data(), cos_t.data(), sin_t.data(), n, seq, heads, hd, true, nullptr);
  check_gradient("rope dx", x, dx, loss);
}

TEST_CASE("rope rotates adjacent pairs by pos times theta to the minus 2i over head_dim") {
  // The llama.cpp NORM convention, checked on one value the runtime must agree with.
  const int64_t seq = 4, hd = 4;
  std::vector<double> cos_t, sin_t;
  rope_table(cos_t, sin_t, seq, hd, 10000.0);
  std::vector<double> x(seq * hd, 0.0);
  x[3 * hd + 2] = 1.0;  // position 3, pair 1, first element
  rope_apply(x.data(), cos_t.data(), sin_t.data(), seq, seq, 1, hd, false, nullptr);
  const double angle = 3.0 * std::pow(10000.0, -2.0 / 4.0);
  CHECK(x[3 * hd + 2] == doctest::Approx(std::cos(angle)));
  CHECK(x[3 * hd + 3] == doctest::Approx(std::sin(angle)));
  CHECK(x[3 * hd + 0] == 0.0);
}

TEST_CASE("attention backward with GQA matches finite differences") {
  const int64_t batch = 2, seq = 4, heads = 4, kv_heads = 2, hd = 3;
  const int64_t n = batch * seq;
  auto q = random_vector(n * heads * hd, 9);
  auto k = random_vector(n * kv_heads * hd, 10);
  auto v = random_vector(n * kv_heads * hd, 11);
  const auto r = random_vector(n * heads * hd, 12);
  std::vector<double> out(n * heads * hd), probs(batch * heads * seq * seq);
  auto loss = [&] {
    attention_forward<double>(out.data(), probs.data(), q.data(), k.data(), v.data(), batch, seq,
                              heads, kv_heads, hd, nullptr);
    return dot(out, r);
  };
  loss();
  std::vector<double> dq(q.size()), dk(k.size()), dv(v.size());
  ThreadPool pool(2);
  attention_backward<double>(dq.data(), dk.data(), dv.data(), r.data(), probs.data(), q.data(),
                             k.data(), v.data(), batch, seq, heads, kv_heads, hd, &pool);
  check_gradient("attention dq", q, dq, loss);
  check_gradient("attention dk", k, dk, loss);
  check_gradient("attention dv", v, dv, loss);
}

TEST_CASE("attention is causal") {
  const int64_t seq = 5, hd = 2;
  auto q = random_vector(seq * hd, 13);
  auto k = random_vector(seq * hd, 14);
  auto v = random_vector(seq * hd, 15);
  std::vector<double> out(seq * hd), probs(seq * seq), out2(seq * hd);
  attention_forward<double>(out.data(), probs.data(), q.data(), k.data(), v.data(), 1, seq, 1, 1,
                            hd, nullptr);
  v[4 * hd] += 1.0;  // the last position's value must not change earlier outputs
  attention_forward<double>(out2.data(), probs.data(), q.data(), k.data(), v.data(), 1, seq, 1, 1,
                            hd, nullptr);
  for (int64_t i = 0; i < 4 * hd; ++i) CHECK(out[i] == out2[i]);
  CHECK(out[4 * hd] != out2[4 * hd]);
}

TEST_CASE("swiglu backward matches finite differences") {
  const int64_t count = 20;
  auto gate = random_vector(count, 16, 2.0);
  auto up = random_vector(count, 17);
  const auto r = random_vector(count, 18);
  std::vector<double> out(count);
  auto loss = [&] {
    swiglu_forward<double>(out.data(), gate.data(), up.data(), count, nullptr);
    return dot(out, r);
  };
  std::vector<double> dgate(count), dup(count);
  swiglu_backward<double>(dgate.data(), dup.data(), r.data(), gate.data(), up.data(), count,
                          nullptr);
  check_gradient("swiglu dgate", gate, dgate, loss);
  check_gradient("swiglu dup", up, dup, loss);
}

TEST_CASE("cross entropy backward matches finite differences") {
  const int64_t n = 3, vocab = 7;
  auto logits = random_vector(n * vocab, 19, 3.0);
  const std::vector<int32_t> targets = {0, 6, 3};
  std::vector<double> losses(n);
  auto loss = [&] {
    cross_entropy_forward<double>(losses.data(), logits.data(), targets.data(), n, vocab, nullptr);
    return 0.5 * (losses[0] + losses[1] + losses[2]);
  };
  std::vector<double> grad = logits;
  cross_entropy_backward<double>(grad.data(), targets.data(), n, vocab, 0.5, nullptr);
  check_gradient("cross entropy dlogits", logits, grad, loss);
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
