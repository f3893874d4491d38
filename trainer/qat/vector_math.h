// Elementwise math the trainer's hot loops inline, written so the compiler vectorizes it (no
// calls, no branches): exp for float by Cody-Waite range reduction and Cephes' degree-5
// polynomial (about 2 ulp over the clamped range), std::exp for double (the gradient checks).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace sherry::train {

// e^x for x in [−87, 88] (clamped outside: e^−87 ≈ 1.6e−38 instead of smaller values, e^88 ≈
// 1.65e38 instead of larger ones; the trainer only feeds it x ≤ 0 and −g of a SwiGLU gate).
inline float exp_approx(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  // n = round(x / ln 2) by the 1.5·2^23 trick (no floor instruction needed: plain SSE2 too).
  constexpr float kRound = 12582912.0f;
  const float shifted = x * 1.44269504088896341f + kRound;
  const float n = shifted - kRound;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // x − n·ln 2 in two steps
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  int32_t round_bits;
  std::memcpy(&round_bits, &kRound, sizeof round_bits);
  const int32_t scale_bits = (bits - round_bits + 127) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return p * scale;
}

inline double exp_approx(double x) {
  return std::exp(x);
}

// Logistic sigmoid 1 / (1 + e^−x).
template <class Real>
inline Real sigmoid(Real x) {
  return Real(1) / (Real(1) + exp_approx(-x));
}

// Elements per 64-byte vector: the width the register-tiled loops are written for.
template <class Real>
inline constexpr int kLanes = static_cast<int>(64 / sizeof(Real));

}  // namespace sherry::train
