// The trainer's per-step quantizers against their references: the fused Sparse-AbsMean 3:4 pass
// (no division per weight) bit-exact against core's sparse_absmean_ternary, which export uses;
// the per-group AbsMean baseline against the reference code's rule written out here.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/sparse_absmean.h"
#include "trainer/qat/quant_method.h"
#include "trainer/qat/rng.h"

namespace sherry::train {
namespace {

// Random weights with the cases that decide a 3:4 block: ties of |w| (lowest lane wins), ±0.
std::vector<float> tricky_weights(int64_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> w(count);
  for (float& x : w) x = static_cast<float>(rng.normal() * 0.02);
  for (int64_t i = 0; i + 8 <= count; i += 36) {
    const int64_t b = i / 4 * 4;  // a block start
    w[b] = 0.001f;                // the two smallest |w| of the block tie: lane 0 must win
    w[b + 1] = -0.001f;
    w[b + 6] = 0.0f;  // the next block: +0 and −0 tie at the bottom, lane 2 must win
    w[b + 7] = -0.0f;
  }
  return w;
}

TEST_CASE("the fused sherry quantizer equals the core quantizer bit for bit") {
  const WeightLayout layouts[] = {
      {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128},
      {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 32},
      {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 0},
      {BlockGrouping::kContiguous, ScaleGranularity::kTensor, 0},
      {BlockGrouping::kStride16, ScaleGranularity::kGroup, 64},  // the generic path
  };
  for (const WeightLayout& layout : layouts)
    for (int64_t rows : {1, 7})
      for (int64_t cols : {128, 256}) {
        INFO("granularity " << to_string(layout.granularity) << " group " << layout.group_size
                            << " grouping " << to_string(layout.grouping) << " " << rows << "x"
                            << cols);
        const std::vector<float> w = tricky_weights(rows * cols, rows * 1000 + cols);
        std::vector<int8_t> t_ref(w.size()), t(w.size());
        std::vector<float> a_ref(scale_count(layout, rows, cols)), a(a_ref.size());
        sparse_absmean_ternary(w.data(), rows, cols, layout, t_ref.data(), a_ref.data());
        std::vector<float> out(w.size());
        const double lambda = 0.375;
        effective_weight<float>(QuantMethod::kSherry, w.data(), rows, cols, layout, lambda,
                                out.data(), t.data(), a.data());
        REQUIRE(t == t_ref);
        REQUIRE(a == a_ref);
        const int64_t per_row = scale_groups_per_row(layout, cols);
        const int64_t group = accumulation_group_size(layout, cols);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) {
            const int64_t s =
                layout.granularity == ScaleGranularity::kTensor ? 0 : r * per_row + c / group;
            const int64_t i = r * cols + c;
            REQUIRE(out[i] ==
                    a_ref[s] * static_cast<float>(t_ref[i]) + static_cast<float>(lambda) * w[i]);
          }
        // sherry-noarenas: the same quantization, no residual.
        effective_weight<float>(QuantMethod::kSherryNoArenas, w.data(), rows, cols, layout, lambda,
                                out.data(), t.data(), a.data());
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) {
            const int64_t s =
                layout.granularity == ScaleGranularity::kTensor ? 0 : r * per_row + c / group;
            REQUIRE(out[r * cols + c] == a_ref[s] * static_cast<float>(t_ref[r * cols + c]));
          }
      }
}

TEST_CASE("absmean quantizes per group of group_size weights with the half alpha threshold") {
  // Two groups of 4 in one row with very different scales: a per-tensor α would zero the whole
  // small group; per group each keeps its large weights.
  const std::vector<float> w = {0.01f, -0.02f, 0.005f, 0.03f, 1.0f, -2.0f, 0.4f, 0.6f};
  WeightLayout layout;
  layout.group_size = 4;
  std::vector<int8_t> t(8);
  std::vector<float> alpha(2);
  absmean_ternary(w.data(), 1, 8, layout, t.data(), alpha.data());
  CHECK(alpha[0] == doctest::Approx(0.01625f));  // mean |w| of the first four
  CHECK(alpha[1] == doctest::Approx(1.0f));
  // |w| ≥ α/2 keeps the sign: 0.01 ≥ 0.008125, 0.005 < it; 0.6 ≥ 0.5, 0.4 < it.
  CHECK(t == std::vector<int8_t>{1, -1, 0, 1, 1, -1, 0, 1});
  // A weight exactly at α/2 is kept (the reference code's x ≥ Δ), an all-zero group is all 0.
  const std::vector<float> edge = {0.5f, 3.5f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  absmean_ternary(edge.data(), 1, 8, layout, t.data(), alpha.data());
  CHECK(alpha[0] == 1.0f);  // 0.5 is exactly α/2
  CHECK(t == std::vector<int8_t>{1, 1, 0, 0, 0, 0, 0, 0});
  // The forward weight is α·t of each weight's own group.
  std::vector<float> out(8);
  effective_weight<float>(QuantMethod::kAbsmean, w.data(), 1, 8, layout, 0.7, out.data(), t.data(),
                          alpha.data());
  CHECK(out == std::vector<float>{alpha[0], -alpha[0], 0, alpha[0], 1.0f, -1.0f, 0, 1.0f});
}

}  // namespace
}  // namespace sherry::train
