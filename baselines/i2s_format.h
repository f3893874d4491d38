// The I2_S-style 2-bit baseline format (after bitnet.cpp's I2_S): every ternary weight t is
// stored as the 2-bit value t + 1 ∈ {0, 1, 2} (3 never occurs), with one fp32 α per tensor.
//
// Bit layout: each row is a sequence of 32-byte blocks of 128 weights; in block b, byte j holds
// the weights of columns 128b + j + 32i (i = 0..3) in bits 6-2i..7-2i (i = 0 in the top bits,
// bitnet.cpp's order), so a shift and a mask turn 32 bytes into 32 consecutive weights. The last
// block of a row is padded with t = 0 (stored 1).
// Size: rows · ceil(cols/128) · 32 bytes + 4 bytes of α: 2 bits/weight + 32/(rows·cols).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/ternary_absmean.h"

namespace sherry {

inline constexpr int64_t kI2sBlockWeights = 128;
inline constexpr int64_t kI2sBlockBytes = 32;

inline int64_t i2s_row_bytes(int64_t cols) {
  return (cols + kI2sBlockWeights - 1) / kI2sBlockWeights * kI2sBlockBytes;
}

struct I2sTensor {
  int64_t rows = 0;
  int64_t cols = 0;
  float alpha = 0.0f;
  std::vector<uint8_t> data;  // rows × i2s_row_bytes(cols)

  int8_t weight(int64_t row, int64_t col) const;
  // Storage bytes including α, and bits per weight from them.
  int64_t storage_bytes() const { return static_cast<int64_t>(data.size()) + 4; }
  double bits_per_weight() const {
    return 8.0 * storage_bytes() / static_cast<double>(rows * cols);
  }
};

// Packs a validated ternary matrix (errors: validate_ternary's, naming `what`).
Result<I2sTensor> pack_i2s(const TernaryMatrix& m, std::string_view what = "matrix");
// AbsMean-quantizes a float matrix and packs it.
Result<I2sTensor> quantize_i2s(const float* w, int64_t rows, int64_t cols,
                               std::string_view what = "matrix");
// The ternary matrix back (values and α). A stored 3 is an internal error: only pack_i2s writes.
TernaryMatrix unpack_i2s(const I2sTensor& w);

}  // namespace sherry
