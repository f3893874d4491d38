// Weight-trapping indicators: effective rank, near-decision share, |W|/α histogram.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "core/sparse_absmean.h"
#include "trainer/qat/diagnostics.h"
#include "trainer/qat/quant_method.h"
#include "trainer/qat/rng.h"

namespace sherry::train {
namespace {

TEST_CASE("jacobi finds the eigenvalues of a known symmetric matrix") {
  // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
  auto eig = symmetric_eigenvalues({2, 1, 1, 2}, 2);
  std::sort(eig.begin(), eig.end());
  CHECK(eig[0] == doctest::Approx(1.0));
  CHECK(eig[1] == doctest::Approx(3.0));
}

TEST_CASE("effective rank is 1 for a rank one matrix and k for k equal singular values") {
  const int64_t rows = 6, cols = 9;
  std::vector<float> g(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) g[r * cols + c] = static_cast<float>((r + 1) * (c - 4));
  CHECK(effective_rank(g.data(), rows, cols) == doctest::Approx(1.0).epsilon(1e-6));
  std::fill(g.begin(), g.end(), 0.0f);
  for (int64_t i = 0; i < 4; ++i) g[i * cols + i] = 2.0f;  // four equal singular values
  CHECK(effective_rank(g.data(), rows, cols) == doctest::Approx(4.0).epsilon(1e-9));
  // The transposed shape goes through the other Gram matrix.
  std::vector<float> t(cols * rows, 0.0f);
  for (int64_t i = 0; i < 4; ++i) t[i * rows + i] = 2.0f;
  CHECK(effective_rank(t.data(), cols, rows) == doctest::Approx(4.0).epsilon(1e-9));
  std::fill(g.begin(), g.end(), 0.0f);
  CHECK(effective_rank(g.data(), rows, cols) == 0.0);
}

TEST_CASE("effective rank of a random matrix is close to full") {
  Rng rng(5);
  const int64_t rows = 32, cols = 64;
  std::vector<float> g(rows * cols);
  for (float& x : g) x = static_cast<float>(rng.normal());
  const double erank = effective_rank(g.data(), rows, cols);
  CHECK(erank > 25.0);
  CHECK(erank <= 32.0);
}

TEST_CASE(
    "a polarised sherry matrix puts its histogram at one and has no blocks near the decision") {
  // Every block: three weights of magnitude 1 and one of 0.1; α = 1.
  const int64_t rows = 2, cols = 16;
  std::vector<float> w(rows * cols);
  for (int64_t i = 0; i < rows * cols; ++i) w[i] = (i % 4 == 2) ? 0.1f : ((i % 3) ? 1.0f : -1.0f);
  WeightLayout layout;
  layout.group_size = 16;
  std::vector<int8_t> t(w.size());
  std::vector<float> alpha(scale_count(layout, rows, cols));
  sparse_absmean_ternary(w.data(), rows, cols, layout, t.data(), alpha.data());
  const WeightDiagnostics d = weight_diagnostics(QuantMethod::kSherry, w.data(), rows, cols, layout,
                                                 alpha.data(), t.data(), nullptr);
  CHECK(d.near_decision_share == 0.0);
  CHECK(d.flip_share == -1.0);                      // nothing to compare with yet
  CHECK(d.histogram[10] == doctest::Approx(0.75));  // |w|/α = 1 lands in [1.0, 1.1)
  CHECK(d.histogram[1] == doctest::Approx(0.25));   // 0.1
  // Two nearly equal small weights in one block of eight: share 1/8.
  w[5] = 0.1f + 0.01f;
  const WeightDiagnostics near = weight_diagnostics(QuantMethod::kSherry, w.data(), rows, cols,
                                                    layout, alpha.data(), t.data(), nullptr);
  CHECK(near.near_decision_share == doctest::Approx(1.0 / 8.0));
}

TEST_CASE(
    "the flip share counts 3:4 blocks whose zero lane moved since the previous quantization") {
  const int64_t rows = 2, cols = 16;  // 8 blocks
  std::vector<float> w(rows * cols);
  for (int64_t i = 0; i < rows * cols; ++i) w[i] = (i % 4 == 2) ? 0.1f : 1.0f;
  WeightLayout layout;
  layout.group_size = 16;
  std::vector<int8_t> before(w.size()), after(w.size());
  std::vector<float> alpha(scale_count(layout, rows, cols));
  sparse_absmean_ternary(w.data(), rows, cols, layout, before.data(), alpha.data());
  // Block 1: lane 1 becomes the smallest (the zero moves); block 5: a sign flips (no move).
  w[5] = 0.05f;
  w[20] = -1.0f;
  sparse_absmean_ternary(w.data(), rows, cols, layout, after.data(), alpha.data());
  const WeightDiagnostics d = weight_diagnostics(QuantMethod::kSherry, w.data(), rows, cols, layout,
                                                 alpha.data(), after.data(), before.data());
  CHECK(d.flip_share == doctest::Approx(1.0 / 8.0));
  // Nothing changed: 0.
  const WeightDiagnostics same = weight_diagnostics(
      QuantMethod::kSherry, w.data(), rows, cols, layout, alpha.data(), after.data(), after.data());
  CHECK(same.flip_share == 0.0);
}

TEST_CASE("the absmean flip share counts weights whose ternary value changed") {
  const std::vector<float> w = {0.5f, 1.0f, -1.5f, 0.52f};
  const std::vector<float> alpha = {0.88f};
  WeightLayout layout;
  layout.group_size = 4;
  const std::vector<int8_t> before = {1, 1, -1, 1}, after = {0, 1, -1, -1};
  const WeightDiagnostics d = weight_diagnostics(QuantMethod::kAbsmean, w.data(), 1, 4, layout,
                                                 alpha.data(), after.data(), before.data());
  CHECK(d.flip_share == doctest::Approx(0.5));
}

TEST_CASE("absmean near-decision share counts weights at half alpha") {
  const std::vector<float> w = {0.5f, 1.0f, -1.5f, 0.52f};  // mean |w| = 0.88
  const std::vector<float> alpha = {0.88f};
  const std::vector<int8_t> t = {1, 1, -1, 1};
  WeightLayout layout;
  layout.group_size = 4;
  const WeightDiagnostics d = weight_diagnostics(QuantMethod::kAbsmean, w.data(), 1, 4, layout,
                                                 alpha.data(), t.data(), nullptr);
  // |w|/α: 0.568, 1.136, 1.705, 0.591; within 0.05 of 0.5: none.
  CHECK(d.near_decision_share == 0.0);
  const std::vector<float> w2 = {0.45f, 1.0f, -1.5f, 0.52f};
  const WeightDiagnostics d2 = weight_diagnostics(QuantMethod::kAbsmean, w2.data(), 1, 4, layout,
                                                  alpha.data(), t.data(), nullptr);
  CHECK(d2.near_decision_share == doctest::Approx(0.25));  // 0.45 / 0.88 = 0.511
}

TEST_CASE("absmean ternary follows bitnet b1.58 rounding") {
  const std::vector<float> w = {0.2f, -0.9f, 0.5f, 2.0f};  // mean |w| = 0.9
  std::vector<int8_t> t(4);
  float alpha = 0;
  WeightLayout layout;
  layout.group_size = 4;
  absmean_ternary(w.data(), 1, 4, layout, t.data(), &alpha);
  CHECK(alpha == doctest::Approx(0.9f));
  CHECK(t == std::vector<int8_t>{0, -1, 1, 1});  // 0.5 / 0.9 = 0.56 rounds to 1; 2.2 clamps
}

TEST_CASE("quantization methods parse and print") {
  for (const char* name : {"fp", "sherry", "sherry-noarenas", "absmean"}) {
    auto m = parse_quant_method(name);
    REQUIRE(m.ok());
    CHECK(to_string(*m) == name);
  }
  auto bad = parse_quant_method("bitnet");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message() ==
        "unknown quantization method 'bitnet' (expected fp, sherry, sherry-noarenas or absmean)");
}

}  // namespace
}  // namespace sherry::train
