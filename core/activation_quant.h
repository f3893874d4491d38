// int8 activation quantization per token, the integer semantics every fast kernel reproduces
// (docs/format.md §4):
//   amax  = max_k |x[k]|                  (fp32)
//   if amax == 0: q[k] = 0, scale = 0
//   else: inv = 127.0f / amax             (one fp32 division)
//         q[k] = clamp(round_half_even(x[k] * inv), -127, 127)   (one fp32 multiply)
//         scale = amax / 127.0f           (dequantized x[k] ≈ q[k] · scale)
// round_half_even is what cvtps2dq does under the default MXCSR, so SIMD code reproduces it.
#pragma once

#include <cstdint>
#include <vector>

namespace sherry {

// Quantizes one token of `cols` values; returns its scale.
float quantize_token_i8(const float* x, int64_t cols, int8_t* q);

struct QuantizedActivations {
  int64_t tokens = 0;
  int64_t cols = 0;
  std::vector<int8_t> values;  // tokens × cols, token-major
  std::vector<float> scales;   // tokens

  const int8_t* token(int64_t n) const { return values.data() + n * cols; }
};

// x: tokens × cols floats, token-major.
QuantizedActivations quantize_activations_i8(const float* x, int64_t tokens, int64_t cols);

}  // namespace sherry
