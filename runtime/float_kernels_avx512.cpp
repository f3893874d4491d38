// The AVX-512 float kernels (F/BW/VL/DQ with FMA and F16C): 16 floats per vector, tails through
// masked loads and stores.
#include "runtime/float_kernels_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cmath>

#include <algorithm>

#include <cstring>

#include "core/half.h"
#include "runtime/exp_poly.h"

// GCC 12's AVX-512 headers start some intrinsics from _mm512_undefined_*(): false positives.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define SHERRY_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))

namespace sherry::runtime::float_impl {
namespace {

template <FloatType kType>
SHERRY_AVX512 inline __m512 load16(const void* base, int64_t i) {
  if constexpr (kType == FloatType::kF32) {
    return _mm512_loadu_ps(static_cast<const float*>(base) + i);
  } else {
    const __m256i h = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + i));
    if constexpr (kType == FloatType::kF16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

template <FloatType kType>
SHERRY_AVX512 inline __m512 load16_masked(const void* base, int64_t i, __mmask16 mask) {
  if constexpr (kType == FloatType::kF32) {
    return _mm512_maskz_loadu_ps(mask, static_cast<const float*>(base) + i);
  } else {
    const __m256i h = _mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(base) + i);
    if constexpr (kType == FloatType::kF16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

// One F32/F16/BF16 row against kTokens tokens: the row is loaded once per 16 columns for all
// tokens.
template <FloatType kType>
struct GemmRow {
  template <int kTokens>
  SHERRY_AVX512 static void run(const void* row, const float* x, int64_t cols, float* out,
                                int64_t out_stride) {
    __m512 acc[kTokens];
    for (int j = 0; j < kTokens; ++j) acc[j] = _mm512_setzero_ps();
    int64_t k = 0;
    if constexpr (kTokens == 1) {
      // Decode: four independent chains hide the FMA latency.
      __m512 extra[3] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (; k + 64 <= cols; k += 64) {
        acc[0] = _mm512_fmadd_ps(load16<kType>(row, k), _mm512_loadu_ps(x + k), acc[0]);
        extra[0] =
            _mm512_fmadd_ps(load16<kType>(row, k + 16), _mm512_loadu_ps(x + k + 16), extra[0]);
        extra[1] =
            _mm512_fmadd_ps(load16<kType>(row, k + 32), _mm512_loadu_ps(x + k + 32), extra[1]);
        extra[2] =
            _mm512_fmadd_ps(load16<kType>(row, k + 48), _mm512_loadu_ps(x + k + 48), extra[2]);
      }
      acc[0] = _mm512_add_ps(_mm512_add_ps(acc[0], extra[0]), _mm512_add_ps(extra[1], extra[2]));
    }
    for (; k + 16 <= cols; k += 16) {
      const __m512 wv = load16<kType>(row, k);
      for (int j = 0; j < kTokens; ++j) {
        acc[j] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + j * cols + k), acc[j]);
      }
    }
    if (k < cols) {
      const __mmask16 mask = static_cast<__mmask16>((1u << (cols - k)) - 1);
      const __m512 wv = load16_masked<kType>(row, k, mask);
      for (int j = 0; j < kTokens; ++j) {
        acc[j] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(mask, x + j * cols + k), acc[j]);
      }
    }
    for (int j = 0; j < kTokens; ++j) out[j * out_stride] = _mm512_reduce_add_ps(acc[j]);
  }
};

// One Q8_0 row against kTokens tokens: each block's 32 int8 are widened once for all tokens.
// At one or two tokens (decode) a single FMA chain per token bounds the row (two dependent FMAs
// per block), so consecutive blocks go to kChains independent accumulators.
struct GemmRowQ8_0 {
  template <int kTokens>
  SHERRY_AVX512 static void run(const void* row_bytes, const float* x, int64_t cols, float* out,
                                int64_t out_stride) {
    constexpr int kChains = kTokens == 1 ? 4 : kTokens == 2 ? 2 : 1;
    const auto* row = static_cast<const Q8_0Block*>(row_bytes);
    __m512 acc[kTokens][kChains];
    for (int j = 0; j < kTokens; ++j) {
      for (int c = 0; c < kChains; ++c) acc[j][c] = _mm512_setzero_ps();
    }
    auto block = [&](int64_t b, int c) SHERRY_AVX512 __attribute__((always_inline)) {
      const __m512 d = _mm512_set1_ps(_cvtsh_ss(row[b].d));
      const __m128i* q = reinterpret_cast<const __m128i*>(row[b].q);
      const __m512 w0 =
          _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q))));
      const __m512 w1 =
          _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q + 1))));
      for (int j = 0; j < kTokens; ++j) {
        const float* xb = x + j * cols + b * 32;
        acc[j][c] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xb), acc[j][c]);
        acc[j][c] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xb + 16), acc[j][c]);
      }
    };
    const int64_t blocks = cols / kQ8_0BlockWeights;
    int64_t b = 0;
    for (; b + kChains <= blocks; b += kChains) {
      for (int c = 0; c < kChains; ++c) block(b + c, c);
    }
    for (; b < blocks; ++b) block(b, 0);
    for (int j = 0; j < kTokens; ++j) {
      __m512 sum = acc[j][0];
      for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[j][c]);
      out[j * out_stride] = _mm512_reduce_add_ps(sum);
    }
  }
};

SHERRY_AVX512 float dot_avx512(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= n; k += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k + 16), _mm512_loadu_ps(b + k + 16), acc1);
  }
  for (; k + 16 <= n; k += 16)
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), acc0);
  if (k < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - k)) - 1);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + k), _mm512_maskz_loadu_ps(mask, b + k),
                           acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

SHERRY_AVX512 float dot_f16_avx512(const float* a, const uint16_t* b, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), load16<FloatType::kF16>(b, k), acc);
  }
  if (k < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - k)) - 1);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + k),
                          load16_masked<FloatType::kF16>(b, k, mask), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

SHERRY_AVX512 void axpy_avx512(float alpha, const float* x, int64_t n, float* y) {
  const __m512 a = _mm512_set1_ps(alpha);
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    _mm512_storeu_ps(y + k, _mm512_fmadd_ps(a, _mm512_loadu_ps(x + k), _mm512_loadu_ps(y + k)));
  }
  if (k < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - k)) - 1);
    _mm512_mask_storeu_ps(
        y + k, mask,
        _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(mask, x + k), _mm512_maskz_loadu_ps(mask, y + k)));
  }
}

SHERRY_AVX512 void axpy_f16_avx512(float alpha, const uint16_t* x, int64_t n, float* y) {
  const __m512 a = _mm512_set1_ps(alpha);
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    _mm512_storeu_ps(y + k,
                     _mm512_fmadd_ps(a, load16<FloatType::kF16>(x, k), _mm512_loadu_ps(y + k)));
  }
  if (k < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - k)) - 1);
    _mm512_mask_storeu_ps(y + k, mask,
                          _mm512_fmadd_ps(a, load16_masked<FloatType::kF16>(x, k, mask),
                                          _mm512_maskz_loadu_ps(mask, y + k)));
  }
}

SHERRY_AVX512 void to_fp16_avx512(const float* x, int64_t n, uint16_t* out) {
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k),
                        _mm512_cvtps_ph(_mm512_loadu_ps(x + k), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; k < n; ++k) out[k] = float_to_fp16(x[k]);
}

// Sixteen values times inv, clamped to ±127, rounded half to even, NaN to 0, as int8.
SHERRY_AVX512 inline __m128i quantize16(__m512 inv, __m512 v) {
  const __m512 y = _mm512_mul_ps(v, inv);
  const __m512 clamped =
      _mm512_min_ps(_mm512_max_ps(y, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
  const __mmask16 number = _mm512_cmp_ps_mask(y, y, _CMP_ORD_Q);
  return _mm512_cvtepi32_epi8(_mm512_maskz_cvtps_epi32(number, clamped));
}

// quantize_token_i8's rule: the max ignores NaNs (max_ps returns its second operand when one is
// NaN: the running max), the clamp keeps them (they stay in the first operand) and they become 0;
// clamping to ±127 before rounding is the same as after (±127 are integers); cvtps2dq rounds half
// to even under the default rounding mode, as nearbyint does.
SHERRY_AVX512 float quantize_i8_avx512(const float* x, int64_t n, int8_t* q) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  __m512 running = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    running = _mm512_max_ps(_mm512_andnot_ps(sign, _mm512_loadu_ps(x + k)), running);
  }
  if (k < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - k)) - 1);
    running = _mm512_max_ps(_mm512_andnot_ps(sign, _mm512_maskz_loadu_ps(mask, x + k)), running);
  }
  const float amax = _mm512_reduce_max_ps(running);
  if (amax == 0.0f) {
    std::memset(q, 0, static_cast<size_t>(n));
    return 0.0f;
  }
  const __m512 inv = _mm512_set1_ps(127.0f / amax);
  for (k = 0; k + 16 <= n; k += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + k), quantize16(inv, _mm512_loadu_ps(x + k)));
  }
  if (k < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - k)) - 1);
    _mm_mask_storeu_epi8(q + k, mask, quantize16(inv, _mm512_maskz_loadu_ps(mask, x + k)));
  }
  return amax / 127.0f;
}

// e^x (exp_poly.h).
SHERRY_AVX512 inline __m512 exp16(__m512 x) {
  using namespace exp_poly;
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-kExpLimit)), _mm512_set1_ps(kExpLimit));
  __m512 fx = _mm512_fmadd_ps(x, _mm512_set1_ps(kLog2e), _mm512_set1_ps(0.5f));
  fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Hi), x);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Lo), x);
  __m512 y = _mm512_set1_ps(kP0);
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP1));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP2));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP3));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP4));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP5));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
  return _mm512_mul_ps(y,
                       _mm512_castsi512_ps(_mm512_slli_epi32(
                           _mm512_add_epi32(_mm512_cvttps_epi32(fx), _mm512_set1_epi32(127)), 23)));
}

// silu(gate) · up, W at a time; the tail through the portable formula's scalar steps.
SHERRY_AVX512 void swiglu_avx512(const float* gate, const float* up, int64_t n, float* out) {
  const __m512 one = _mm512_set1_ps(1.0f);
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const __m512 g = _mm512_loadu_ps(gate + k);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
    _mm512_storeu_ps(
        out + k, _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), _mm512_loadu_ps(up + k)));
  }
  for (; k < n; ++k) {
    const float g = gate[k];
    out[k] = g / (1.0f + std::exp(-g)) * up[k];
  }
}

// The portable softmax's steps (max, exp and sum, scale), W at a time.
SHERRY_AVX512 void softmax_avx512(float* x, int64_t n) {
  float max = x[0];
  int64_t k = 0;
  __m512 m = _mm512_set1_ps(x[0]);
  for (; k + 16 <= n; k += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + k));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, m);
  for (const float v : lanes) max = std::max(max, v);
  for (; k < n; ++k) max = std::max(max, x[k]);
  const __m512 vmax = _mm512_set1_ps(max);
  __m512 acc = _mm512_setzero_ps();
  for (k = 0; k + 16 <= n; k += 16) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + k), vmax));
    _mm512_storeu_ps(x + k, e);
    acc = _mm512_add_ps(acc, e);
  }
  _mm512_store_ps(lanes, acc);
  float sum = 0.0f;
  for (const float v : lanes) sum += v;
  for (; k < n; ++k) {
    x[k] = std::exp(x[k] - max);
    sum += x[k];
  }
  const float inv = 1.0f / sum;
  const __m512 vinv = _mm512_set1_ps(inv);
  for (k = 0; k + 16 <= n; k += 16)
    _mm512_storeu_ps(x + k, _mm512_mul_ps(_mm512_loadu_ps(x + k), vinv));
  for (; k < n; ++k) x[k] *= inv;
}

}  // namespace

const FloatKernelTable kAvx512Kernels = {
    gemm_rows_of_every_type<GemmRow, GemmRowQ8_0>,
    dot_avx512,
    dot_f16_avx512,
    axpy_avx512,
    axpy_f16_avx512,
    to_fp16_avx512,
    quantize_i8_avx512,
    swiglu_avx512,
    softmax_avx512,
};

}  // namespace sherry::runtime::float_impl

#endif  // __x86_64__
