#include "baselines/tl2_format.h"

namespace sherry {

uint8_t tl2_encode_group(const Tl2Group& group) {
  for (const int8_t t : group) SHERRY_CHECK(t >= -1 && t <= 1, "TL2 value {}", t);
  const int v = 9 * (group[0] + 1) + 3 * (group[1] + 1) + (group[2] + 1);
  const int sign = v < 13 ? 1 : 0;
  const int index = sign ? 13 - v : v - 13;
  return static_cast<uint8_t>(sign << 4 | index);
}

Tl2Group tl2_decode_code(uint8_t code) {
  const int index = code & 0x0F;
  SHERRY_CHECK(code < 32 && index < kTl2IndexCount, "TL2 code {}", code);
  const int sign = code >> 4 ? -1 : 1;
  Tl2Group group;
  for (int p = 0; p < kTl2GroupWeights; ++p) {
    group[p] = static_cast<int8_t>(sign * tl2_lane_value(index, p));
  }
  return group;
}

uint8_t Tl2Tensor::code(int64_t row, int64_t group) const {
  const uint8_t* base = data.data() + row * tl2_row_bytes(cols);
  const int index = (base[group / 2] >> (4 * (group & 1))) & 0x0F;
  const int sign = (base[tl2_index_bytes(cols) + group / 8] >> (group % 8)) & 1;
  return static_cast<uint8_t>(sign << 4 | index);
}

Result<Tl2Tensor> pack_tl2(const TernaryMatrix& m, std::string_view what) {
  SHERRY_TRY(validate_ternary(m, what));
  Tl2Tensor w;
  w.rows = m.rows;
  w.cols = m.cols;
  w.alpha = m.alpha;
  const int64_t row_bytes = tl2_row_bytes(m.cols);
  w.data.assign(static_cast<size_t>(m.rows * row_bytes), 0);
  for (int64_t r = 0; r < m.rows; ++r) {
    uint8_t* row = w.data.data() + r * row_bytes;
    uint8_t* signs = row + tl2_index_bytes(m.cols);
    for (int64_t g = 0; g < tl2_groups(m.cols); ++g) {
      Tl2Group group{0, 0, 0};
      for (int p = 0; p < kTl2GroupWeights; ++p) {
        const int64_t c = kTl2GroupWeights * g + p;
        if (c < m.cols) group[p] = m.values[r * m.cols + c];
      }
      const uint8_t code = tl2_encode_group(group);
      row[g / 2] = static_cast<uint8_t>(row[g / 2] | (code & 0x0F) << (4 * (g & 1)));
      signs[g / 8] = static_cast<uint8_t>(signs[g / 8] | (code >> 4) << (g % 8));
    }
  }
  return w;
}

Result<Tl2Tensor> quantize_tl2(const float* w, int64_t rows, int64_t cols, std::string_view what) {
  Result<TernaryMatrix> m = absmean_ternarize(w, rows, cols, what);
  if (!m.ok()) return m.error();
  return pack_tl2(*m, what);
}

TernaryMatrix unpack_tl2(const Tl2Tensor& w) {
  TernaryMatrix m;
  m.rows = w.rows;
  m.cols = w.cols;
  m.alpha = w.alpha;
  m.values.resize(static_cast<size_t>(w.rows * w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    for (int64_t g = 0; g < tl2_groups(w.cols); ++g) {
      const Tl2Group group = tl2_decode_code(w.code(r, g));
      for (int p = 0; p < kTl2GroupWeights; ++p) {
        const int64_t c = kTl2GroupWeights * g + p;
        if (c < w.cols) m.values[r * w.cols + c] = group[p];
      }
    }
  }
  return m;
}

}  // namespace sherry
