// Inside the int8 GEMM (runtime/int8_gemm.h): one table per path, defined by int8_gemm.cpp
// (scalar reference), int8_gemm_avx2.cpp and int8_gemm_avx512vnni.cpp; int8_gemm.cpp picks one
// per call. Not for use outside these files.
#pragma once

#include <cstdint>

#include "runtime/int8_gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>
#endif

namespace sherry::runtime::int8_impl {

struct Int8KernelTable {
  const char* name;  // int8_gemm_path
  // Rows [r0, r1) of y = x · wᵀ.
  void (*gemm_rows)(const FloatMatrix& w, const Int8Activations& x, float* y, int64_t r0,
                    int64_t r1);
  // int8_block_sums.
  void (*block_sums)(const FloatMatrix& w, const Int8Activations& x, int64_t token, int64_t row,
                     int32_t* out);
};

extern const Int8KernelTable kScalarKernels;
#if defined(__x86_64__)
extern const Int8KernelTable kAvx2Kernels;        // AVX2 + FMA + F16C
extern const Int8KernelTable kAvx512VnniKernels;  // AVX-512 F/BW/VL/DQ/VNNI + FMA + F16C
#endif

// What block b of tokens t0 .. t0 + kTokens − 1 brings to a row kernel: their int8 values and
// scales, and for the K-quants their 16-value sums (nullptr for Q8_0's activations).
template <int kTokens>
struct BlockOperands {
  const int8_t* values[kTokens];
  const int16_t* sums[kTokens];
  float scales[kTokens];
  BlockOperands(const Int8Activations& x, int64_t t0, int64_t b) {
    for (int j = 0; j < kTokens; ++j) {
      values[j] = x.token_values(t0 + j) + b * x.block;
      sums[j] = x.sums.empty() ? nullptr : x.token_sums(t0 + j) + b * (x.block / 16);
      scales[j] = x.token_scales(t0 + j)[b];
    }
  }
};

#if defined(__x86_64__)
// The eight 6-bit scales (bytes 0-7) and minimums (bytes 8-15) of a Q4_K/Q5_K block, for the SIMD
// paths: the bit moves of unpack_k_scales on 64-bit words, in scalar registers (the kernels keep
// the vector ports busy; the scalar ones are free).
inline __m128i k4_scales_and_mins(const uint8_t packed[12]) {
  uint64_t a = 0;  // bytes 0-7
  uint32_t b = 0;  // bytes 8-11
  std::memcpy(&a, packed, 8);
  std::memcpy(&b, packed + 8, 4);
  const uint64_t tops = (a >> 6) & 0x0303030303030303ULL;  // bits 6-7 of bytes 0-7
  const uint64_t scales =
      (a & 0x3f3f3f3fULL) |
      static_cast<uint64_t>((b & 0x0f0f0f0fU) | static_cast<uint32_t>(tops & 0x03030303U) << 4)
          << 32;
  const uint64_t mins =
      ((a >> 32) & 0x3f3f3f3fULL) |
      static_cast<uint64_t>(((b >> 4) & 0x0f0f0f0fU) | static_cast<uint32_t>(tops >> 32) << 4)
          << 32;
  return _mm_set_epi64x(static_cast<int64_t>(mins), static_cast<int64_t>(scales));
}
#endif

// Rows [r0, r1) of y, each row against the tokens in blocks of up to 4 so a row is read once per
// block: Row::run<kTokens>(row, x, t0, out, out_stride) writes out[j · out_stride] = row · token
// t0 + j for j < kTokens.
template <class Row>
void rows_in_token_blocks(const FloatMatrix& w, const Int8Activations& x, float* y, int64_t r0,
                          int64_t r1) {
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t row_bytes = w.row_bytes();
  const int64_t n = x.tokens;
  for (int64_t m = r0; m < r1; ++m) {
    const void* row = base + m * row_bytes;
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) Row::template run<4>(row, x, t, y + t * w.rows + m, w.rows);
    switch (n - t) {
      case 3:
        Row::template run<3>(row, x, t, y + t * w.rows + m, w.rows);
        break;
      case 2:
        Row::template run<2>(row, x, t, y + t * w.rows + m, w.rows);
        break;
      case 1:
        Row::template run<1>(row, x, t, y + t * w.rows + m, w.rows);
        break;
      default:
        break;
    }
  }
}

// Int8KernelTable::gemm_rows and ::block_sums over a path's row kernels, one per weight type
// (float types never reach here: int8_gemm checks).
template <class Q4_K, class Q5_K, class Q6_K, class Q8_0>
struct TypeDispatch {
  static void gemm_rows(const FloatMatrix& w, const Int8Activations& x, float* y, int64_t r0,
                        int64_t r1) {
    switch (w.type) {
      case FloatType::kQ4_K:
        return rows_in_token_blocks<Q4_K>(w, x, y, r0, r1);
      case FloatType::kQ5_K:
        return rows_in_token_blocks<Q5_K>(w, x, y, r0, r1);
      case FloatType::kQ6_K:
        return rows_in_token_blocks<Q6_K>(w, x, y, r0, r1);
      case FloatType::kQ8_0:
        return rows_in_token_blocks<Q8_0>(w, x, y, r0, r1);
      case FloatType::kF32:
      case FloatType::kF16:
      case FloatType::kBF16:
        return;
    }
  }
  static void block_sums(const FloatMatrix& w, const Int8Activations& x, int64_t token, int64_t row,
                         int32_t* out) {
    const void* r = static_cast<const uint8_t*>(w.data) + row * w.row_bytes();
    switch (w.type) {
      case FloatType::kQ4_K:
        return Q4_K::sums(r, x, token, out);
      case FloatType::kQ5_K:
        return Q5_K::sums(r, x, token, out);
      case FloatType::kQ6_K:
        return Q6_K::sums(r, x, token, out);
      case FloatType::kQ8_0:
        return Q8_0::sums(r, x, token, out);
      case FloatType::kF32:
      case FloatType::kF16:
      case FloatType::kBF16:
        return;
    }
  }
};

}  // namespace sherry::runtime::int8_impl
