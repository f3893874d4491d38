#include "core/sparse_absmean.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include <doctest/doctest.h>

#include "core/reference_kernels.h"
#include "tests/core/test_util.h"

namespace sherry {
namespace {

struct Expected {
  std::vector<int8_t> ternary;
  std::vector<double> alpha;
};

// Straightforward re-derivation from docs/format.md §5, keyed by column rather than storage order:
// the block of a column comes from inverting the grouping, the scale group from the column.
Expected independent_quantize(const std::vector<float>& w, int64_t rows, int64_t cols,
                              const WeightLayout& layout) {
  Expected out;
  out.ternary.assign(w.size(), 0);
  for (int64_t r = 0; r < rows; ++r) {
    // block id → its columns in lane order
    std::map<int64_t, std::vector<int64_t>> blocks;
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t block = layout.grouping == BlockGrouping::kContiguous
                                ? c / 4
                                : 16 * (c / 64) + c % 16;  // lane = (c % 64) / 16, ascending with c
      blocks[block].push_back(c);
    }
    for (const auto& [block, columns] : blocks) {
      REQUIRE(columns.size() == 4);
      int64_t zero = columns[0];
      for (const int64_t c : columns) {
        if (std::fabs(w[r * cols + c]) < std::fabs(w[r * cols + zero])) zero = c;
      }
      for (const int64_t c : columns) {
        out.ternary[r * cols + c] = c == zero ? 0 : (w[r * cols + c] < 0 ? -1 : 1);
      }
    }
  }
  std::map<int64_t, std::pair<double, int>> sums;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      if (out.ternary[r * cols + c] == 0) continue;
      int64_t key = 0;
      if (layout.granularity == ScaleGranularity::kGroup)
        key = r * (cols / layout.group_size) + c / layout.group_size;
      if (layout.granularity == ScaleGranularity::kChannel) key = r;
      sums[key].first += std::fabs(w[r * cols + c]);
      sums[key].second += 1;
    }
  }
  for (const auto& [key, sum] : sums) out.alpha.push_back(sum.first / sum.second);
  return out;
}

TEST_CASE("a hand checked row gives the documented zeros signs and scales") {
  // Block 0: smallest |w| is lane 1. Block 1: |w| ties at lanes 0 1 2 so lane 0 is the zero.
  const std::vector<float> w = {0.5f, -0.1f, 0.3f, -0.7f, 0.2f, 0.2f, -0.2f, 0.4f};
  std::vector<int8_t> t(8);
  float alpha[2];
  sparse_absmean_ternary(w.data(), 1, 8, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 4},
                         t.data(), alpha);
  CHECK(t == std::vector<int8_t>{1, 0, 1, -1, 0, 1, -1, 1});
  CHECK(alpha[0] == static_cast<float>((double(0.5f) + double(0.3f) + double(0.7f)) / 3));
  CHECK(alpha[1] == static_cast<float>((double(0.2f) + double(0.2f) + double(0.4f)) / 3));
  float channel_alpha = 0;
  sparse_absmean_ternary(w.data(), 1, 8,
                         {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 0}, t.data(),
                         &channel_alpha);
  CHECK(channel_alpha == static_cast<float>((double(0.5f) + double(0.3f) + double(0.7f) +
                                             double(0.2f) + double(0.2f) + double(0.4f)) /
                                            6));
}

TEST_CASE("signed zeros count as positive and tie to the lowest lane") {
  const std::vector<float> w = {-0.0f, 0.0f, 3.0f, -3.0f, 1.0f, -0.0f, 0.0f, -2.0f};
  std::vector<int8_t> t(8);
  float alpha[2];
  sparse_absmean_ternary(w.data(), 1, 8, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 4},
                         t.data(), alpha);
  // Block 0: |-0| = |+0| tie → lane 0 is the zero, lane 1 (+0) becomes +1.
  // Block 1: -0 at lane 1 ties +0 at lane 2 → lane 1 is the zero, +0 at lane 2 becomes +1.
  CHECK(t == std::vector<int8_t>{0, 1, 1, -1, 1, 0, 1, -1});
  CHECK(alpha[0] == 2.0f);
  CHECK(alpha[1] == 1.0f);
  // A kept -0 also becomes +1: the zero goes to lane 0 (tie) and lane 1 holds -0.
  const std::vector<float> w2 = {0.0f, -0.0f, 1.0f, 1.0f};
  sparse_absmean_ternary(
      w2.data(), 1, 4, {BlockGrouping::kContiguous, ScaleGranularity::kTensor, 0}, t.data(), alpha);
  CHECK(t[0] == 0);
  CHECK(t[1] == 1);
  // The quantizer packs the same decision.
  const Result<PackedTensor> packed = quantize_sparse_absmean(
      w2.data(), 1, 4, {BlockGrouping::kContiguous, ScaleGranularity::kTensor, 0});
  REQUIRE(packed.ok());
  CHECK(decode_ternary_code(packed->code(0, 0)) == TernaryBlock{0, 1, 1, 1});
}

TEST_CASE("stride16 blocks take every 16th weight of a 64 weight chunk") {
  // Row of 64: weight c = 1 + c except the four weights of block 5 (columns 5 21 37 53).
  std::vector<float> w(64);
  for (int c = 0; c < 64; ++c) w[c] = 1.0f + c;
  w[5] = -4.0f;
  w[21] = 0.5f;  // smallest of block 5: lane 1
  w[37] = -8.0f;
  w[53] = 2.0f;
  std::vector<int8_t> t(64);
  float alpha = 0;
  sparse_absmean_ternary(w.data(), 1, 64, {BlockGrouping::kStride16, ScaleGranularity::kChannel, 0},
                         t.data(), &alpha);
  CHECK(t[5] == -1);
  CHECK(t[21] == 0);
  CHECK(t[37] == -1);
  CHECK(t[53] == 1);
  // Every other block g has lanes 1 + g, 17 + g, 33 + g, 49 + g: lane 0 is the smallest.
  for (int g = 0; g < 16; ++g) {
    if (g == 5) continue;
    CHECK(t[g] == 0);
    CHECK(t[g + 16] == 1);
  }
  double kept = 4.0 + 8.0 + 2.0;
  for (int g = 0; g < 16; ++g) {
    if (g != 5) kept += (17.0 + g) + (33.0 + g) + (49.0 + g);
  }
  CHECK(alpha == static_cast<float>(kept / 48));
}

TEST_CASE("tensor scales average the kept weights of all rows") {
  const std::vector<float> w = {1, 2, 3, 4, -5, 6, -7, 8};
  std::vector<int8_t> t(8);
  float alpha = 0;
  sparse_absmean_ternary(w.data(), 2, 4, {BlockGrouping::kContiguous, ScaleGranularity::kTensor, 0},
                         t.data(), &alpha);
  CHECK(t == std::vector<int8_t>{0, 1, 1, 1, 0, 1, -1, 1});
  CHECK(alpha == 5.0f);  // (2 + 3 + 4 + 6 + 7 + 8) / 6
}

TEST_CASE("stride16 group scales cover whole 64 weight chunks") {
  // Chunk 0: w = c + 1. Chunk 1: w = -(c + 1). In every block lane 0 has the smallest |w|.
  std::vector<float> w(128);
  for (int c = 0; c < 128; ++c) w[c] = c < 64 ? c + 1.0f : -(c + 1.0f);
  std::vector<int8_t> t(128);
  float alpha[2];
  sparse_absmean_ternary(w.data(), 1, 128, {BlockGrouping::kStride16, ScaleGranularity::kGroup, 64},
                         t.data(), alpha);
  for (int c = 0; c < 128; ++c) CHECK(t[c] == ((c % 64) < 16 ? 0 : c < 64 ? 1 : -1));
  // Group 0 keeps g+17, g+33, g+49 for g = 0..15: 1944 / 48. Group 1 keeps g+81, g+97, g+113.
  CHECK(alpha[0] == 40.5f);
  CHECK(alpha[1] == 104.5f);
}

TEST_CASE("random matrices agree with an independent computation for every layout") {
  const int64_t rows = 5;
  const int64_t cols = 512;
  uint32_t seed = 11;
  for (const WeightLayout& layout : test::kTestLayouts) {
    CAPTURE(to_string(layout.grouping));
    CAPTURE(to_string(layout.granularity));
    CAPTURE(layout.group_size);
    CAPTURE(seed);
    std::vector<float> w = test::random_floats(rows * cols, seed++);
    // Plant exact ties and signed zeros so the tie rule is exercised on random data too.
    for (int64_t i = 0; i + 3 < rows * cols; i += 37) w[i + 3] = -w[i];
    for (int64_t i = 0; i < rows * cols; i += 101) w[i] = (i / 101) % 2 ? 0.0f : -0.0f;
    const Expected expected = independent_quantize(w, rows, cols, layout);

    std::vector<int8_t> t(static_cast<size_t>(rows * cols));
    std::vector<float> alpha(static_cast<size_t>(scale_count(layout, rows, cols)));
    sparse_absmean_ternary(w.data(), rows, cols, layout, t.data(), alpha.data());
    CHECK(t == expected.ternary);
    REQUIRE(alpha.size() == expected.alpha.size());
    for (size_t s = 0; s < alpha.size(); ++s) {
      // Same mean, summed in another order: equal to well within one float ulp.
      CHECK(alpha[s] == doctest::Approx(expected.alpha[s]).epsilon(1e-6));
    }

    const Result<PackedTensor> packed = quantize_sparse_absmean(w.data(), rows, cols, layout);
    REQUIRE(packed.ok());
    CHECK(packed->layout == layout);
    CHECK(unpack_ternary(packed->view()) == t);
    for (size_t s = 0; s < alpha.size(); ++s) CHECK(packed->scales[s] == float_to_fp16(alpha[s]));
    // 1.25 bits per weight exactly (cols is a multiple of 32, so no padding).
    CHECK(packed->codes.size() * 8 * 4 == static_cast<size_t>(rows * cols * 5));
  }
}

TEST_CASE("quantize reports non finite weights with their row and column") {
  std::vector<float> w(2 * 8, 1.0f);
  w[1 * 8 + 6] = std::numeric_limits<float>::quiet_NaN();
  const WeightLayout layout{BlockGrouping::kContiguous, ScaleGranularity::kChannel, 0};
  Result<PackedTensor> packed =
      quantize_sparse_absmean(w.data(), 2, 8, layout, "blk.3.ffn_up.weight");
  REQUIRE_FALSE(packed.ok());
  CHECK(packed.error().message() ==
        "blk.3.ffn_up.weight: weight at row 1 col 6 is nan: expected a finite number");
  w[1 * 8 + 6] = 1.0f;
  w[0 * 8 + 2] = -std::numeric_limits<float>::infinity();
  packed = quantize_sparse_absmean(w.data(), 2, 8, layout, "blk.3.ffn_up.weight");
  REQUIRE_FALSE(packed.ok());
  CHECK(packed.error().message() ==
        "blk.3.ffn_up.weight: weight at row 0 col 2 is -inf: expected a finite number");
}

TEST_CASE("quantize reports a scale that overflows fp16") {
  std::vector<float> w(2 * 8, 1.0f);
  for (int c = 4; c < 8; ++c) w[8 + c] = 70000.0f;
  Result<PackedTensor> packed = quantize_sparse_absmean(
      w.data(), 2, 8, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 4}, "w");
  REQUIRE_FALSE(packed.ok());
  CHECK(packed.error().message() ==
        "w: scale α = 70000 of row 1 group 1 overflows fp16 (largest finite value 65504)");
  std::fill(w.begin(), w.end(), 70000.0f);
  packed = quantize_sparse_absmean(w.data(), 2, 8,
                                   {BlockGrouping::kContiguous, ScaleGranularity::kTensor, 0}, "w");
  REQUIRE_FALSE(packed.ok());
  CHECK(packed.error().message() ==
        "w: scale α = 70000 of the tensor overflows fp16 (largest finite value 65504)");
  // 65519 still rounds down to 65504: not an error.
  std::fill(w.begin(), w.end(), 65519.0f);
  CHECK(quantize_sparse_absmean(w.data(), 2, 8,
                                {BlockGrouping::kContiguous, ScaleGranularity::kTensor, 0})
            .ok());
}

TEST_CASE("quantize reports a layout that does not fit the shape") {
  const std::vector<float> w(4 * 100, 1.0f);
  const Result<PackedTensor> packed = quantize_sparse_absmean(
      w.data(), 4, 100, {BlockGrouping::kStride16, ScaleGranularity::kChannel, 0},
      "blk.0.attn_q.weight");
  REQUIRE_FALSE(packed.ok());
  CHECK(packed.error().message() ==
        "blk.0.attn_q.weight (shape 4 x 100): cols 100 is not a multiple of 64 required by "
        "stride16 block grouping");
}

TEST_CASE("an all zero group has scale zero and still one zero per block") {
  const std::vector<float> w(8, 0.0f);
  const Result<PackedTensor> packed = quantize_sparse_absmean(
      w.data(), 1, 8, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 4});
  REQUIRE(packed.ok());
  CHECK(packed->scales[0] == 0);
  CHECK(decode_ternary_code(packed->code(0, 1)) == TernaryBlock{0, 1, 1, 1});
}

}  // namespace
}  // namespace sherry
