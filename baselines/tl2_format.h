// The TL2-style 1.67-bit baseline format (after bitnet.cpp's TL2): a row is cut into groups of 3
// consecutive weights (g covers columns 3g, 3g+1, 3g+2; the last group padded with zeros). Each
// group's 27 patterns fold by mirror symmetry into a sign bit and a 4-bit index:
//   v = 9·(t0+1) + 3·(t1+1) + (t2+1) ∈ [0, 27), v = 13 is all zeros,
//   sign = (v < 13), index = |v - 13| ∈ [0, 14),
// so the pattern of (sign 1, index i) is the negation of (sign 0, index i): a 16-entry table per
// group of 3 activations (14 entries used) plus a sign applied after the lookup, like the Sherry
// kernels' tables per block of 4. The 5-bit code is (sign << 4) | index, the Sherry code's shape.
//
// Bit layout of a row of G = ceil(cols/3) groups: ceil(G/2) bytes of indices (group g in nibble
// g&1 of byte g/2, low nibble first), then ceil(G/8) bytes of sign bits (group g in bit g%8 of byte
// g/8); padding bits are 0. One fp32 α per tensor.
// Size: rows · (ceil(G/2) + ceil(G/8)) bytes + 4: 5/3 ≈ 1.67 bits/weight when G is a multiple of 8.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/ternary_absmean.h"

namespace sherry {

inline constexpr int kTl2GroupWeights = 3;
inline constexpr int kTl2IndexCount = 14;  // of 16 table entries, 14 are used

using Tl2Group = std::array<int8_t, kTl2GroupWeights>;

inline int64_t tl2_groups(int64_t cols) {
  return (cols + kTl2GroupWeights - 1) / kTl2GroupWeights;
}
inline int64_t tl2_index_bytes(int64_t cols) {
  return (tl2_groups(cols) + 1) / 2;
}
inline int64_t tl2_sign_bytes(int64_t cols) {
  return (tl2_groups(cols) + 7) / 8;
}
inline int64_t tl2_row_bytes(int64_t cols) {
  return tl2_index_bytes(cols) + tl2_sign_bytes(cols);
}

// Sign-0 value of lane p (0..2) for an index in [0, 16): the coefficient of activation p in the
// index's table entry. Indices 14 and 15 are unused and have all-zero coefficients.
constexpr int tl2_lane_value(int index, int lane) {
  if (index >= kTl2IndexCount) return 0;
  const int v = 13 + index;
  const int digit = lane == 0 ? v / 9 : lane == 1 ? (v / 3) % 3 : v % 3;
  return digit - 1;
}

// Encodes 3 values in {-1, 0, +1} (an internal check: callers validated them).
uint8_t tl2_encode_group(const Tl2Group& group);
// Decodes a 5-bit code whose index is below 14 (anything else is an internal error).
Tl2Group tl2_decode_code(uint8_t code);

struct Tl2Tensor {
  int64_t rows = 0;
  int64_t cols = 0;
  float alpha = 0.0f;
  std::vector<uint8_t> data;  // rows × tl2_row_bytes(cols)

  // The 5-bit code of group g of a row.
  uint8_t code(int64_t row, int64_t group) const;
  int64_t storage_bytes() const { return static_cast<int64_t>(data.size()) + 4; }
  double bits_per_weight() const {
    return 8.0 * storage_bytes() / static_cast<double>(rows * cols);
  }
};

// Packs a validated ternary matrix (errors: validate_ternary's, naming `what`).
Result<Tl2Tensor> pack_tl2(const TernaryMatrix& m, std::string_view what = "matrix");
// AbsMean-quantizes a float matrix and packs it.
Result<Tl2Tensor> quantize_tl2(const float* w, int64_t rows, int64_t cols,
                               std::string_view what = "matrix");
// The ternary matrix back (values and α).
TernaryMatrix unpack_tl2(const Tl2Tensor& w);

}  // namespace sherry
