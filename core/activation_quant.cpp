#include "core/activation_quant.h"

#include <cmath>

namespace sherry {

float quantize_token_i8(const float* x, int64_t cols, int8_t* q) {
  float amax = 0.0f;
  for (int64_t k = 0; k < cols; ++k) amax = std::fmax(amax, std::fabs(x[k]));
  if (amax == 0.0f) {
    for (int64_t k = 0; k < cols; ++k) q[k] = 0;
    return 0.0f;
  }
  const float inv = 127.0f / amax;
  for (int64_t k = 0; k < cols; ++k) {
    // nearbyint rounds half to even under the default rounding mode, like cvtps2dq.
    const float rounded = std::nearbyint(x[k] * inv);
    // The clamp also catches amax · (127 / amax) landing a hair above 127; NaN maps to 0.
    const float clamped = rounded > 127.0f ? 127.0f : rounded < -127.0f ? -127.0f : rounded;
    q[k] = std::isnan(clamped) ? 0 : static_cast<int8_t>(clamped);
  }
  return amax / 127.0f;
}

QuantizedActivations quantize_activations_i8(const float* x, int64_t tokens, int64_t cols) {
  QuantizedActivations result;
  result.tokens = tokens;
  result.cols = cols;
  result.values.resize(static_cast<size_t>(tokens * cols));
  result.scales.resize(static_cast<size_t>(tokens));
  for (int64_t n = 0; n < tokens; ++n) {
    result.scales[n] = quantize_token_i8(x + n * cols, cols, result.values.data() + n * cols);
  }
  return result;
}

}  // namespace sherry
