#include "baselines/i2s_format.h"

namespace sherry {
namespace {

// Byte and bit shift of (row, col) inside a row.
struct I2sPosition {
  int64_t byte;
  int shift;
};

I2sPosition i2s_position(int64_t col) {
  const int64_t block = col / kI2sBlockWeights;
  const int64_t in_block = col % kI2sBlockWeights;
  const int64_t i = in_block / kI2sBlockBytes;
  return {block * kI2sBlockBytes + in_block % kI2sBlockBytes, static_cast<int>(6 - 2 * i)};
}

}  // namespace

int8_t I2sTensor::weight(int64_t row, int64_t col) const {
  const I2sPosition at = i2s_position(col);
  const int stored = (data[row * i2s_row_bytes(cols) + at.byte] >> at.shift) & 3;
  SHERRY_CHECK(stored != 3, "I2_S value 3 at row {} col {}", row, col);
  return static_cast<int8_t>(stored - 1);
}

Result<I2sTensor> pack_i2s(const TernaryMatrix& m, std::string_view what) {
  SHERRY_TRY(validate_ternary(m, what));
  I2sTensor w;
  w.rows = m.rows;
  w.cols = m.cols;
  w.alpha = m.alpha;
  const int64_t row_bytes = i2s_row_bytes(m.cols);
  // 0x55: every 2-bit field holds 1, i.e. t = 0, so the padding needs no extra pass.
  w.data.assign(static_cast<size_t>(m.rows * row_bytes), 0x55);
  for (int64_t r = 0; r < m.rows; ++r) {
    uint8_t* row = w.data.data() + r * row_bytes;
    for (int64_t c = 0; c < m.cols; ++c) {
      const I2sPosition at = i2s_position(c);
      const int stored = m.values[r * m.cols + c] + 1;
      row[at.byte] = static_cast<uint8_t>((row[at.byte] & ~(3 << at.shift)) | stored << at.shift);
    }
  }
  return w;
}

Result<I2sTensor> quantize_i2s(const float* w, int64_t rows, int64_t cols, std::string_view what) {
  Result<TernaryMatrix> m = absmean_ternarize(w, rows, cols, what);
  if (!m.ok()) return m.error();
  return pack_i2s(*m, what);
}

TernaryMatrix unpack_i2s(const I2sTensor& w) {
  TernaryMatrix m;
  m.rows = w.rows;
  m.cols = w.cols;
  m.alpha = w.alpha;
  m.values.resize(static_cast<size_t>(w.rows * w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    for (int64_t c = 0; c < w.cols; ++c) m.values[r * w.cols + c] = w.weight(r, c);
  }
  return m;
}

}  // namespace sherry
