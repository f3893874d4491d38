// Dense ternary AbsMean quantization (BitNet b1.58), the quantizer of the 2-bit I2_S-style and
// 1.67-bit TL2-style baselines:
//   α = mean |W| over the whole matrix (accumulated in double, stored as fp32),
//   t = clamp(round_half_even(W / α), -1, +1)   (one fp32 division per weight),
//   α = 0 (all-zero matrix): every t = 0.
// Unlike Sparse-AbsMean there is no 3:4 structure: any mix of -1, 0, +1 is allowed.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sherry {

struct TernaryMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  float alpha = 0.0f;          // one α for the whole matrix
  std::vector<int8_t> values;  // rows × cols, row-major, each in {-1, 0, +1}
};

// Errors: a non-positive shape, a non-finite weight (row and column named).
// `what` names the matrix in messages.
Result<TernaryMatrix> absmean_ternarize(const float* w, int64_t rows, int64_t cols,
                                        std::string_view what = "matrix");

// Checks a matrix given directly: shape positive, values.size() == rows · cols, every value in
// {-1, 0, +1}, α finite and non-negative. The message names `what`, the position and the value.
Status validate_ternary(const TernaryMatrix& m, std::string_view what = "matrix");

}  // namespace sherry
