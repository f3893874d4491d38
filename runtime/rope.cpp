#include "runtime/rope.h"

#include <cmath>
#include <numbers>

namespace sherry::runtime {

std::vector<float> llama3_rope_factors(const RopeConfig& rope) {
  const int64_t pairs = rope.dims / 2;
  std::vector<float> factors(pairs, 1.0f);
  const double low_wavelen = rope.original_context / rope.low_freq_factor;
  const double high_wavelen = rope.original_context / rope.high_freq_factor;
  for (int64_t i = 0; i < pairs; ++i) {
    const double freq = std::pow(static_cast<double>(rope.freq_base),
                                 -2.0 * static_cast<double>(i) / static_cast<double>(rope.dims));
    const double wavelen = 2.0 * std::numbers::pi / freq;
    if (wavelen < high_wavelen) {
      factors[i] = 1.0f;
    } else if (wavelen > low_wavelen) {
      factors[i] = rope.factor;
    } else {
      const double smooth = (rope.original_context / wavelen - rope.low_freq_factor) /
                            (rope.high_freq_factor - rope.low_freq_factor);
      factors[i] = static_cast<float>(1.0 / ((1.0 - smooth) / rope.factor + smooth));
    }
  }
  return factors;
}

std::vector<float> rope_frequencies(const RopeConfig& rope, const float* factors) {
  const int64_t pairs = rope.dims / 2;
  std::vector<float> llama3;
  if (factors == nullptr && rope.scaling == RopeScaling::kLlama3) {
    llama3 = llama3_rope_factors(rope);
    factors = llama3.data();
  }
  std::vector<float> theta(pairs);
  for (int64_t i = 0; i < pairs; ++i) {
    double t = std::pow(static_cast<double>(rope.freq_base),
                        -2.0 * static_cast<double>(i) / static_cast<double>(rope.dims));
    if (factors != nullptr) t /= factors[i];
    if (rope.scaling == RopeScaling::kLinear) t /= rope.factor;
    theta[i] = static_cast<float>(t);
  }
  return theta;
}

void rope_table(const std::vector<float>& theta, int64_t position, float* table) {
  const size_t pairs = theta.size();
  for (size_t i = 0; i < pairs; ++i) {
    const double angle = static_cast<double>(position) * theta[i];
    table[i] = static_cast<float>(std::cos(angle));
    table[pairs + i] = static_cast<float>(std::sin(angle));
  }
}

void apply_rope(float* x, int64_t heads, int64_t head_dim, int64_t dims, const float* table,
                RopeStyle style) {
  const int64_t pairs = dims / 2;
  const float* cos_t = table;
  const float* sin_t = table + pairs;
  // Pair i is (v[i·first], v[i·first + second]).
  const int64_t first = style == RopeStyle::kNorm ? 2 : 1;
  const int64_t second = style == RopeStyle::kNorm ? 1 : pairs;
  for (int64_t h = 0; h < heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < pairs; ++i) {
      const float a = v[first * i];
      const float b = v[first * i + second];
      v[first * i] = a * cos_t[i] - b * sin_t[i];
      v[first * i + second] = a * sin_t[i] + b * cos_t[i];
    }
  }
}

}  // namespace sherry::runtime
