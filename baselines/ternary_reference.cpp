#include "baselines/ternary_reference.h"

#include <vector>

namespace sherry {

void ternary_accumulate_i32(const TernaryMatrix& w, const QuantizedActivations& x, int32_t* acc) {
  SHERRY_CHECK(x.cols == w.cols, "activations have {} columns, weights {}", x.cols, w.cols);
  for (int64_t t = 0; t < x.tokens; ++t) {
    const int8_t* q = x.token(t);
    for (int64_t m = 0; m < w.rows; ++m) {
      int32_t sum = 0;
      for (int64_t k = 0; k < w.cols; ++k) sum += w.values[m * w.cols + k] * q[k];
      acc[t * w.rows + m] = sum;
    }
  }
}

void ternary_scale_accumulators(const TernaryMatrix& w, const QuantizedActivations& x,
                                const int32_t* acc, float* y) {
  for (int64_t t = 0; t < x.tokens; ++t) {
    for (int64_t m = 0; m < w.rows; ++m) {
      const float scaled = static_cast<float>(acc[t * w.rows + m]) * x.scales[t];
      y[t * w.rows + m] = scaled * w.alpha;
    }
  }
}

void ternary_gemm_i8(const TernaryMatrix& w, const float* x, int64_t n, float* y) {
  const QuantizedActivations q = quantize_activations_i8(x, n, w.cols);
  std::vector<int32_t> acc(static_cast<size_t>(n * w.rows));
  ternary_accumulate_i32(w, q, acc.data());
  ternary_scale_accumulators(w, q, acc.data(), y);
}

void ternary_gemm_f32(const TernaryMatrix& w, const float* x, int64_t n, float* y) {
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t m = 0; m < w.rows; ++m) {
      double sum = 0.0;
      for (int64_t k = 0; k < w.cols; ++k) {
        sum += static_cast<double>(w.alpha) * w.values[m * w.cols + k] *
               static_cast<double>(x[t * w.cols + k]);
      }
      y[t * w.rows + m] = static_cast<float>(sum);
    }
  }
}

}  // namespace sherry
