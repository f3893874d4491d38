#include "core/sparse_absmean.h"

#include <cmath>
#include <limits>
#include <vector>

namespace sherry {
namespace {

// Index of the stored α that block `block` of `row` belongs to.
int64_t scale_index(const WeightLayout& layout, int64_t cols, int64_t row, int64_t block) {
  switch (layout.granularity) {
    case ScaleGranularity::kGroup:
      return row * (cols / layout.group_size) + block * kWeightsPerBlock / layout.group_size;
    case ScaleGranularity::kChannel:
      return row;
    case ScaleGranularity::kTensor:
      return 0;
  }
  return 0;
}

// The quantizer proper, shared by both entry points so they agree exactly: fills `ternary`
// (rows × cols) and returns α per stored scale as double (sum of kept |w| / kept count).
std::vector<double> quantize_ternary(const float* w, int64_t rows, int64_t cols,
                                     const WeightLayout& layout, int8_t* ternary) {
  const int64_t blocks = cols / kWeightsPerBlock;
  std::vector<double> sums(static_cast<size_t>(scale_count(layout, rows, cols)), 0.0);
  std::vector<int64_t> kept(sums.size(), 0);
  for (int64_t row = 0; row < rows; ++row) {
    const float* w_row = w + row * cols;
    int8_t* t_row = ternary + row * cols;
    for (int64_t block = 0; block < blocks; ++block) {
      int64_t col[kWeightsPerBlock];
      for (int p = 0; p < kWeightsPerBlock; ++p)
        col[p] = block_weight_column(layout.grouping, block, p);
      // Strict < keeps the lowest lane on ties of |w|.
      int zero = 0;
      for (int p = 1; p < kWeightsPerBlock; ++p) {
        if (std::fabs(w_row[col[p]]) < std::fabs(w_row[col[zero]])) zero = p;
      }
      const int64_t s = scale_index(layout, cols, row, block);
      for (int p = 0; p < kWeightsPerBlock; ++p) {
        const float value = w_row[col[p]];
        if (p == zero) {
          t_row[col[p]] = 0;
          continue;
        }
        t_row[col[p]] = value < 0.0f ? -1 : 1;  // sign(±0) = +1
        sums[s] += std::fabs(static_cast<double>(value));
        ++kept[s];
      }
    }
  }
  for (size_t s = 0; s < sums.size(); ++s) sums[s] /= static_cast<double>(kept[s]);
  return sums;
}

}  // namespace

void sparse_absmean_ternary(const float* w, int64_t rows, int64_t cols, const WeightLayout& layout,
                            int8_t* ternary, float* alpha) {
  const Status valid = validate_layout(layout, rows, cols, "sparse_absmean_ternary");
  SHERRY_CHECK(valid.ok(), "{}", valid.error().message());
  const std::vector<double> means = quantize_ternary(w, rows, cols, layout, ternary);
  for (size_t s = 0; s < means.size(); ++s) alpha[s] = static_cast<float>(means[s]);
}

Result<PackedTensor> quantize_sparse_absmean(const float* w, int64_t rows, int64_t cols,
                                             const WeightLayout& layout, std::string_view what) {
  SHERRY_TRY(validate_layout(layout, rows, cols, what));
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t col = 0; col < cols; ++col) {
      const float value = w[row * cols + col];
      if (!std::isfinite(value)) {
        return make_error("{}: weight at row {} col {} is {}: expected a finite number", what, row,
                          col, value);
      }
    }
  }
  std::vector<int8_t> ternary(static_cast<size_t>(rows * cols));
  const std::vector<double> means = quantize_ternary(w, rows, cols, layout, ternary.data());

  PackedTensor packed = PackedTensor::allocate(rows, cols, layout);
  const int64_t groups_per_row = scale_groups_per_row(layout, cols);
  for (size_t s = 0; s < means.size(); ++s) {
    const float alpha = static_cast<float>(means[s]);
    const uint16_t bits = float_to_fp16(alpha);
    if (std::isinf(fp16_to_float(bits))) {
      const auto index = static_cast<int64_t>(s);
      const std::string where =
          layout.granularity == ScaleGranularity::kTensor
              ? std::string("the tensor")
              : fmt::format("row {} group {}", index / groups_per_row, index % groups_per_row);
      return make_error("{}: scale α = {} of {} overflows fp16 (largest finite value 65504)", what,
                        alpha, where);
    }
    packed.scales[s] = bits;
  }
  const int64_t blocks = cols / kWeightsPerBlock;
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t block = 0; block < blocks; ++block) {
      TernaryBlock values{};
      for (int p = 0; p < kWeightsPerBlock; ++p) {
        values[p] = ternary[row * cols + block_weight_column(layout.grouping, block, p)];
      }
      const Result<uint8_t> code = encode_ternary_block(values);
      SHERRY_CHECK(code.ok(), "{}", code.ok() ? "" : code.error().message());
      packed.set_code(row, block, code.value());
    }
  }
  return packed;
}

}  // namespace sherry
