// Inside the float kernels (runtime/float_kernels.h): one table of primitives per path, defined
// by float_kernels.cpp (portable), float_kernels_avx2.cpp and float_kernels_avx512.cpp; the
// dispatch in float_kernels.cpp picks one table per call. Not for use outside these files.
#pragma once

#include <cstdint>

#include "runtime/float_kernels.h"

namespace sherry::runtime::float_impl {

// Every primitive a path implements. gemm_rows computes rows [r0, r1) of y = x · wᵀ for every
// FloatType; the others are float_kernels.h's functions of the same names.
struct FloatKernelTable {
  void (*gemm_rows)(const FloatMatrix& w, const float* x, int64_t n, float* y, int64_t r0,
                    int64_t r1);
  float (*dot)(const float* a, const float* b, int64_t n);
  float (*dot_f16)(const float* a, const uint16_t* b, int64_t n);
  void (*axpy)(float alpha, const float* x, int64_t n, float* y);
  void (*axpy_f16)(float alpha, const uint16_t* x, int64_t n, float* y);
  void (*to_fp16)(const float* x, int64_t n, uint16_t* out);
  // core's quantize_token_i8, bit for bit: q = round-half-even(x · 127 / max|x|) clamped to
  // ±127 (NaN → 0, NaNs left out of the max); returns the scale max|x| / 127.
  float (*quantize_i8)(const float* x, int64_t n, int8_t* q);
  // float_kernels.h's swiglu and softmax; the SIMD versions compute exp with a polynomial
  // (simd_exp.h) within 2 ulp of std::exp.
  void (*swiglu)(const float* gate, const float* up, int64_t n, float* out);
  void (*softmax)(float* x, int64_t n);
};

extern const FloatKernelTable kGenericKernels;
#if defined(__x86_64__)
extern const FloatKernelTable kAvx2Kernels;    // AVX2 + FMA + F16C
extern const FloatKernelTable kAvx512Kernels;  // AVX-512 F/BW/VL/DQ + FMA + F16C
#endif

// Rows [r0, r1) of y = x · wᵀ, each row against the tokens in blocks of up to 4 so a row is read
// once per block: RowKernel::run<kTokens>(row, x, cols, out, out_stride) writes
// out[j · out_stride] = row · x[j · cols ...] for j < kTokens. The SIMD files instantiate it with
// their own row kernels (which carry their target attribute; this loop needs none).
template <class RowKernel>
void gemm_rows_in_token_blocks(const FloatMatrix& w, const float* x, int64_t n, float* y,
                               int64_t r0, int64_t r1) {
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t row_bytes = w.row_bytes();
  for (int64_t m = r0; m < r1; ++m) {
    const void* row = base + m * row_bytes;
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) {
      RowKernel::template run<4>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
    }
    switch (n - t) {
      case 3:
        RowKernel::template run<3>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
        break;
      case 2:
        RowKernel::template run<2>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
        break;
      case 1:
        RowKernel::template run<1>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
        break;
      default:
        break;
    }
  }
}

// Rows [r0, r1) of y = x · wᵀ for K-quant weights on every path: each super-block dequantized
// (runtime/k_quants.h) and dotted with the tokens in portable C++ (float_kernels.h says why).
void gemm_rows_k_quant(const FloatMatrix& w, const float* x, int64_t n, float* y, int64_t r0,
                       int64_t r1);

// FloatKernelTable::gemm_rows on a path's row kernels: Row<kType> for F32, F16 and BF16,
// RowQ8_0 for Q8_0, each run in token blocks; gemm_rows_k_quant for the K-quants.
template <template <FloatType> class Row, class RowQ8_0>
void gemm_rows_of_every_type(const FloatMatrix& w, const float* x, int64_t n, float* y, int64_t r0,
                             int64_t r1) {
  switch (w.type) {
    case FloatType::kF32:
      return gemm_rows_in_token_blocks<Row<FloatType::kF32>>(w, x, n, y, r0, r1);
    case FloatType::kF16:
      return gemm_rows_in_token_blocks<Row<FloatType::kF16>>(w, x, n, y, r0, r1);
    case FloatType::kBF16:
      return gemm_rows_in_token_blocks<Row<FloatType::kBF16>>(w, x, n, y, r0, r1);
    case FloatType::kQ8_0:
      return gemm_rows_in_token_blocks<RowQ8_0>(w, x, n, y, r0, r1);
    case FloatType::kQ4_K:
    case FloatType::kQ5_K:
    case FloatType::kQ6_K:
      return gemm_rows_k_quant(w, x, n, y, r0, r1);
  }
}

}  // namespace sherry::runtime::float_impl
