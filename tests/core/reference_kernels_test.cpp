#include "core/reference_kernels.h"

#include <cmath>

#include <doctest/doctest.h>

#include "tests/core/test_util.h"

namespace sherry {
namespace {

using test::kTestLayouts;

// α of column c of row r, looked up by column (not by block) from the raw scale array.
float alpha_of(const PackedTensor& w, int64_t r, int64_t c) {
  switch (w.layout.granularity) {
    case ScaleGranularity::kGroup:
      return fp16_to_float(w.scales[r * (w.cols / w.layout.group_size) + c / w.layout.group_size]);
    case ScaleGranularity::kChannel:
      return fp16_to_float(w.scales[r]);
    case ScaleGranularity::kTensor:
      return fp16_to_float(w.scales[0]);
  }
  return 0;
}

// The hand example: 2 × 8, contiguous blocks, one α per 4 weights.
//   row 0: (1, 0, -1, 1) α 0.5 | (0, 1, 1, 1) α 2
//   row 1: (-1, -1, 0, 1) α 1  | (-1, -1, -1, 0) α 0.25
PackedTensor hand_tensor() {
  PackedTensor w =
      PackedTensor::allocate(2, 8, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 4});
  w.set_code(0, 0, encode_ternary_block({1, 0, -1, 1}).value());
  w.set_code(0, 1, encode_ternary_block({0, 1, 1, 1}).value());
  w.set_code(1, 0, encode_ternary_block({-1, -1, 0, 1}).value());
  w.set_code(1, 1, encode_ternary_block({-1, -1, -1, 0}).value());
  w.scales = {float_to_fp16(0.5f), float_to_fp16(2.0f), float_to_fp16(1.0f), float_to_fp16(0.25f)};
  return w;
}

TEST_CASE("a hand computed GEMM matches the float and integer paths") {
  const PackedTensor w = hand_tensor();
  CHECK(dequantize(w.view()) == std::vector<float>{0.5f, 0, -0.5f, 0.5f, 0, 2, 2, 2, -1, -1, 0, 1,
                                                   -0.25f, -0.25f, -0.25f, 0});
  // Float path.
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, -1, 0.5f, 0, 2, 1, 1, -1, 0};
  std::vector<float> y(4);
  reference_gemm_f32(w.view(), x.data(), 2, y.data());
  CHECK(y == std::vector<float>{43.0f, -3.5f, 0.5f, 2.25f});
  // Integer path with amax = 127 (scale 1, q = x) and with amax = 254 (scale 2, same q).
  const std::vector<float> xi = {127, -64, 3, 0, 10, -127, 5, 1};
  const QuantizedActivations q = quantize_activations_i8(xi.data(), 1, 8);
  std::vector<int32_t> acc(4);
  reference_accumulate_i32(w.view(), q, acc.data());
  CHECK(acc == std::vector<int32_t>{124, -121, -63, 112});
  reference_scale_accumulators(w.view(), q, acc.data(), y.data());
  CHECK(y[0] == -180.0f);
  CHECK(y[1] == -35.0f);
  std::vector<float> xi2 = xi;
  for (float& v : xi2) v *= 2;
  reference_gemm_i8(w.view(), xi2.data(), 1, y.data());
  CHECK(y[0] == -360.0f);
  CHECK(y[1] == -70.0f);
  reference_gemm_f32(w.view(), xi2.data(), 1, y.data());
  CHECK(y[0] == -360.0f);
  CHECK(y[1] == -70.0f);
}

TEST_CASE("dequantize equals unpacked ternary times the scale of each column") {
  uint32_t seed = 100;
  for (const WeightLayout& layout : kTestLayouts) {
    CAPTURE(seed);
    const PackedTensor w = test::random_packed(3, 512, layout, seed++);
    const std::vector<int8_t> t = unpack_ternary(w.view());
    const std::vector<float> d = dequantize(w.view());
    for (int64_t r = 0; r < w.rows; ++r) {
      for (int64_t b = 0; b < w.cols / 4; ++b) {
        const TernaryBlock block = decode_ternary_code(w.code(r, b));
        for (int p = 0; p < 4; ++p)
          CHECK(t[r * w.cols + block_weight_column(layout.grouping, b, p)] == block[p]);
      }
      for (int64_t c = 0; c < w.cols; ++c) {
        CHECK(d[r * w.cols + c] == t[r * w.cols + c] * alpha_of(w, r, c));
      }
    }
  }
}

TEST_CASE("integer accumulators match a column order computation bit exactly") {
  uint32_t seed = 200;
  for (const WeightLayout& layout : kTestLayouts) {
    CAPTURE(seed);
    const int64_t rows = 4;
    const int64_t cols = 512;
    const int64_t n = 3;
    const PackedTensor w = test::random_packed(rows, cols, layout, seed);
    const std::vector<float> x = test::random_floats(n * cols, seed + 1);
    ++seed;
    const QuantizedActivations q = quantize_activations_i8(x.data(), n, cols);
    const int64_t groups = scale_groups_per_row(layout, cols);
    std::vector<int32_t> acc(static_cast<size_t>(n * rows * groups));
    reference_accumulate_i32(w.view(), q, acc.data());
    const std::vector<int8_t> t = unpack_ternary(w.view());
    const int64_t group_cols =
        layout.granularity == ScaleGranularity::kGroup ? layout.group_size : cols;
    for (int64_t tok = 0; tok < n; ++tok) {
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<int32_t> expected(static_cast<size_t>(groups), 0);
        for (int64_t c = 0; c < cols; ++c)
          expected[c / group_cols] += t[r * cols + c] * q.token(tok)[c];
        for (int64_t g = 0; g < groups; ++g)
          CHECK(acc[(tok * rows + r) * groups + g] == expected[g]);
      }
    }
  }
}

TEST_CASE("the float GEMM matches a naive double sum over dequantized weights") {
  const WeightLayout layout{BlockGrouping::kStride16, ScaleGranularity::kGroup, 128};
  const PackedTensor w = test::random_packed(5, 256, layout, 7);
  const std::vector<float> x = test::random_floats(2 * 256, 8);
  std::vector<float> y(10);
  reference_gemm_f32(w.view(), x.data(), 2, y.data());
  const std::vector<int8_t> t = unpack_ternary(w.view());
  for (int64_t tok = 0; tok < 2; ++tok) {
    for (int64_t r = 0; r < 5; ++r) {
      double sum = 0;
      for (int64_t c = 0; c < 256; ++c)
        sum += double(t[r * 256 + c] * alpha_of(w, r, c)) * x[tok * 256 + c];
      CHECK(y[tok * 5 + r] == static_cast<float>(sum));
    }
  }
}

// Bound on |y_i8 - y_f32| for one output of a row with K weights (3K/4 non-zero) and G groups:
//   activation rounding: x_k = s·q_k + e_k with |e_k| <= 0.51·s (half a step, plus the float error
//   of inv and s), s = amax/127, so the exact sums differ by at most α_max · (3K/4) · 0.51 · s;
//   float rounding of the integer path: G products and G additions and one final multiply, each
//   within 2^-24 relative of a partial sum bounded by s · α_max · 127 · 3K/4;
//   plus the final float rounding of y_f32 (2^-24 · |y|).
double int_path_bound(double alpha_max, double amax, int64_t k, int64_t groups, double y) {
  const double s = amax / 127.0;
  const double nonzero = 0.75 * static_cast<double>(k);
  const double activation = alpha_max * nonzero * 0.51 * s;
  const double rounding =
      (2.0 * groups + 2) * std::ldexp(1.0, -24) * s * alpha_max * 127.0 * nonzero;
  return activation + rounding + std::ldexp(1.0, -24) * std::fabs(y);
}

TEST_CASE("the integer path stays within the K derived bound of the float path") {
  uint32_t seed = 300;
  for (const WeightLayout& layout : kTestLayouts) {
    for (const int64_t cols : {256, 1024}) {
      CAPTURE(seed);
      CAPTURE(cols);
      const int64_t rows = 16;
      const int64_t n = 4;
      const PackedTensor w = test::random_packed(rows, cols, layout, seed);
      const std::vector<float> x = test::random_floats(n * cols, seed + 1);
      ++seed;
      std::vector<float> y_f(static_cast<size_t>(n * rows));
      std::vector<float> y_i(y_f.size());
      reference_gemm_f32(w.view(), x.data(), n, y_f.data());
      reference_gemm_i8(w.view(), x.data(), n, y_i.data());
      double alpha_max = 0;
      for (const uint16_t s : w.scales) alpha_max = std::max<double>(alpha_max, fp16_to_float(s));
      double error_sum = 0;
      double bound_sum = 0;
      for (int64_t tok = 0; tok < n; ++tok) {
        double amax = 0;
        for (int64_t c = 0; c < cols; ++c)
          amax = std::max<double>(amax, std::fabs(x[tok * cols + c]));
        for (int64_t r = 0; r < rows; ++r) {
          const double y = y_f[tok * rows + r];
          const double error = std::fabs(y_i[tok * rows + r] - y);
          const double bound =
              int_path_bound(alpha_max, amax, cols, scale_groups_per_row(layout, cols), y);
          CHECK(error <= bound);
          error_sum += error;
          bound_sum += bound;
        }
      }
      // Rounding errors of independent activations add like a random walk, far below the worst
      // case: the mean error is a small fraction of the mean bound.
      CHECK(error_sum < bound_sum / 8);
    }
  }
}

}  // namespace
}  // namespace sherry
