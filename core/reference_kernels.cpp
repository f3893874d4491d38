#include "core/reference_kernels.h"

namespace sherry {
namespace {

// Accumulation group of block `block` along a row.
int64_t block_group(const PackedTensorView& w, int64_t block) {
  return block * kWeightsPerBlock / accumulation_group_size(w.layout, w.cols);
}

}  // namespace

std::vector<int8_t> unpack_ternary(const PackedTensorView& w) {
  std::vector<int8_t> t(static_cast<size_t>(w.rows * w.cols));
  for (int64_t m = 0; m < w.rows; ++m) {
    for (int64_t b = 0; b < w.blocks_per_row(); ++b) {
      const TernaryBlock block = decode_ternary_code(w.code(m, b));
      for (int p = 0; p < kWeightsPerBlock; ++p) {
        t[m * w.cols + block_weight_column(w.layout.grouping, b, p)] = block[p];
      }
    }
  }
  return t;
}

std::vector<float> dequantize(const PackedTensorView& w) {
  std::vector<float> out(static_cast<size_t>(w.rows * w.cols));
  for (int64_t m = 0; m < w.rows; ++m) {
    for (int64_t b = 0; b < w.blocks_per_row(); ++b) {
      const TernaryBlock block = decode_ternary_code(w.code(m, b));
      const float alpha = w.scale(m, block_group(w, b));
      for (int p = 0; p < kWeightsPerBlock; ++p) {
        out[m * w.cols + block_weight_column(w.layout.grouping, b, p)] = alpha * block[p];
      }
    }
  }
  return out;
}

void reference_gemm_f32(const PackedTensorView& w, const float* x, int64_t n, float* y) {
  const std::vector<float> weights = dequantize(w);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t m = 0; m < w.rows; ++m) {
      double sum = 0.0;
      for (int64_t k = 0; k < w.cols; ++k) {
        sum +=
            static_cast<double>(weights[m * w.cols + k]) * static_cast<double>(x[t * w.cols + k]);
      }
      y[t * w.rows + m] = static_cast<float>(sum);
    }
  }
}

void reference_accumulate_i32(const PackedTensorView& w, const QuantizedActivations& x,
                              int32_t* acc) {
  SHERRY_CHECK(x.cols == w.cols, "activations have {} columns, weights {}", x.cols, w.cols);
  const int64_t groups = scale_groups_per_row(w.layout, w.cols);
  for (int64_t t = 0; t < x.tokens; ++t) {
    const int8_t* q = x.token(t);
    for (int64_t m = 0; m < w.rows; ++m) {
      int32_t* acc_row = acc + (t * w.rows + m) * groups;
      for (int64_t g = 0; g < groups; ++g) acc_row[g] = 0;
      for (int64_t b = 0; b < w.blocks_per_row(); ++b) {
        const TernaryBlock block = decode_ternary_code(w.code(m, b));
        int32_t sum = 0;
        for (int p = 0; p < kWeightsPerBlock; ++p) {
          sum += block[p] * q[block_weight_column(w.layout.grouping, b, p)];
        }
        acc_row[block_group(w, b)] += sum;
      }
    }
  }
}

void reference_scale_accumulators(const PackedTensorView& w, const QuantizedActivations& x,
                                  const int32_t* acc, float* y) {
  const int64_t groups = scale_groups_per_row(w.layout, w.cols);
  for (int64_t t = 0; t < x.tokens; ++t) {
    for (int64_t m = 0; m < w.rows; ++m) {
      const int32_t* acc_row = acc + (t * w.rows + m) * groups;
      float sum = 0.0f;
      for (int64_t g = 0; g < groups; ++g) {
        const float term = static_cast<float>(acc_row[g]) * w.scale(m, g);
        sum += term;
      }
      y[t * w.rows + m] = x.scales[t] * sum;
    }
  }
}

void reference_gemm_i8(const PackedTensorView& w, const float* x, int64_t n, float* y) {
  const QuantizedActivations q = quantize_activations_i8(x, n, w.cols);
  std::vector<int32_t> acc(
      static_cast<size_t>(n * w.rows * scale_groups_per_row(w.layout, w.cols)));
  reference_accumulate_i32(w, q, acc.data());
  reference_scale_accumulators(w, q, acc.data(), y);
}

}  // namespace sherry
