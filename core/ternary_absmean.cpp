#include "core/ternary_absmean.h"

#include <cmath>

namespace sherry {

Result<TernaryMatrix> absmean_ternarize(const float* w, int64_t rows, int64_t cols,
                                        std::string_view what) {
  if (rows <= 0 || cols <= 0) {
    return make_error("{}: AbsMean needs a positive shape, found {} x {}", what, rows, cols);
  }
  double sum = 0.0;
  for (int64_t i = 0; i < rows * cols; ++i) {
    if (!std::isfinite(w[i])) {
      return make_error("{}: weight (row {}, col {}) must be finite, found {}", what, i / cols,
                        i % cols, w[i]);
    }
    sum += std::fabs(static_cast<double>(w[i]));
  }
  TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.alpha = static_cast<float>(sum / static_cast<double>(rows * cols));
  m.values.assign(static_cast<size_t>(rows * cols), 0);
  if (m.alpha == 0.0f) return m;
  for (int64_t i = 0; i < rows * cols; ++i) {
    // nearbyint: round half to even, like torch.round in the BitNet reference code.
    const float t = std::nearbyint(w[i] / m.alpha);
    m.values[i] = static_cast<int8_t>(t > 1.0f ? 1 : t < -1.0f ? -1 : t);
  }
  return m;
}

Status validate_ternary(const TernaryMatrix& m, std::string_view what) {
  if (m.rows <= 0 || m.cols <= 0) {
    return make_error("{}: ternary matrix needs a positive shape, found {} x {}", what, m.rows,
                      m.cols);
  }
  if (static_cast<int64_t>(m.values.size()) != m.rows * m.cols) {
    return make_error("{}: expected {} x {} = {} ternary values, found {}", what, m.rows, m.cols,
                      m.rows * m.cols, m.values.size());
  }
  if (!std::isfinite(m.alpha) || m.alpha < 0.0f) {
    return make_error("{}: α must be finite and non-negative, found {}", what, m.alpha);
  }
  for (int64_t i = 0; i < m.rows * m.cols; ++i) {
    const int v = m.values[i];
    if (v < -1 || v > 1) {
      return make_error("{}: weight (row {}, col {}) must be -1, 0 or +1, found {}", what,
                        i / m.cols, i % m.cols, v);
    }
  }
  return Status::success();
}

}  // namespace sherry
