// The AVX2 float kernels (with FMA and F16C, which every AVX2 CPU has): 8 floats per vector.
// AVX2 has no masked 16-bit loads, so a tail (< 8 columns) of fp16/bf16 values is copied into a
// zeroed 8-element buffer; float tails use vmaskmovps, which never touches the masked-off lanes.
#include "runtime/float_kernels_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>

#include <cmath>

#include <cstring>

#include "core/half.h"
#include "runtime/exp_poly.h"

#define SHERRY_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace sherry::runtime::float_impl {
namespace {

// tail_mask(r) selects the first r lanes (0 < r < 8): eight -1 then eight 0, read from 8 − r.
alignas(32) constexpr int32_t kTailMaskLanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                    0,  0,  0,  0,  0,  0,  0,  0};

SHERRY_AVX2 inline __m256i tail_mask(int64_t remaining) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailMaskLanes + 8 - remaining));
}

SHERRY_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <FloatType kType>
SHERRY_AVX2 inline __m256 widen8(__m128i h) {
  if constexpr (kType == FloatType::kF16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));  // bf16
}

template <FloatType kType>
SHERRY_AVX2 inline __m256 load8(const void* base, int64_t i) {
  if constexpr (kType == FloatType::kF32) {
    return _mm256_loadu_ps(static_cast<const float*>(base) + i);
  } else {
    return widen8<kType>(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + i)));
  }
}

// Elements [i, i + remaining) of base, zero beyond; `mask` is tail_mask(remaining).
template <FloatType kType>
SHERRY_AVX2 inline __m256 load8_tail(const void* base, int64_t i, int64_t remaining, __m256i mask) {
  if constexpr (kType == FloatType::kF32) {
    return _mm256_maskload_ps(static_cast<const float*>(base) + i, mask);
  } else {
    uint16_t buffer[8] = {};
    std::memcpy(buffer, static_cast<const uint16_t*>(base) + i,
                static_cast<size_t>(remaining) * sizeof(uint16_t));
    return widen8<kType>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(buffer)));
  }
}

// One F32/F16/BF16 row against kTokens tokens: the row is loaded once per 8 columns for all
// tokens.
template <FloatType kType>
struct GemmRow {
  template <int kTokens>
  SHERRY_AVX2 static void run(const void* row, const float* x, int64_t cols, float* out,
                              int64_t out_stride) {
    __m256 acc[kTokens];
    for (int j = 0; j < kTokens; ++j) acc[j] = _mm256_setzero_ps();
    int64_t k = 0;
    if constexpr (kTokens == 1) {
      // Decode: four independent chains hide the FMA latency.
      __m256 extra[3] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
      for (; k + 32 <= cols; k += 32) {
        acc[0] = _mm256_fmadd_ps(load8<kType>(row, k), _mm256_loadu_ps(x + k), acc[0]);
        extra[0] = _mm256_fmadd_ps(load8<kType>(row, k + 8), _mm256_loadu_ps(x + k + 8), extra[0]);
        extra[1] =
            _mm256_fmadd_ps(load8<kType>(row, k + 16), _mm256_loadu_ps(x + k + 16), extra[1]);
        extra[2] =
            _mm256_fmadd_ps(load8<kType>(row, k + 24), _mm256_loadu_ps(x + k + 24), extra[2]);
      }
      acc[0] = _mm256_add_ps(_mm256_add_ps(acc[0], extra[0]), _mm256_add_ps(extra[1], extra[2]));
    }
    for (; k + 8 <= cols; k += 8) {
      const __m256 wv = load8<kType>(row, k);
      for (int j = 0; j < kTokens; ++j) {
        acc[j] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + j * cols + k), acc[j]);
      }
    }
    if (k < cols) {
      const __m256i mask = tail_mask(cols - k);
      const __m256 wv = load8_tail<kType>(row, k, cols - k, mask);
      for (int j = 0; j < kTokens; ++j) {
        acc[j] = _mm256_fmadd_ps(wv, _mm256_maskload_ps(x + j * cols + k, mask), acc[j]);
      }
    }
    for (int j = 0; j < kTokens; ++j) out[j * out_stride] = hsum(acc[j]);
  }
};

// One Q8_0 row against kTokens tokens: each block's 32 int8 are widened and scaled once for all
// tokens; a single token (decode) keeps one chain per 8 weights of the block.
struct GemmRowQ8_0 {
  template <int kTokens>
  SHERRY_AVX2 static void run(const void* row_bytes, const float* x, int64_t cols, float* out,
                              int64_t out_stride) {
    constexpr int kChains = kTokens == 1 ? 4 : 1;
    const auto* row = static_cast<const Q8_0Block*>(row_bytes);
    __m256 acc[kTokens][kChains];
    for (int j = 0; j < kTokens; ++j) {
      for (int c = 0; c < kChains; ++c) acc[j][c] = _mm256_setzero_ps();
    }
    const int64_t blocks = cols / kQ8_0BlockWeights;
    for (int64_t b = 0; b < blocks; ++b) {
      const __m256 d = _mm256_set1_ps(_cvtsh_ss(row[b].d));
      __m256 wv[4];
      for (int i = 0; i < 4; ++i) {
        const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row[b].q + 8 * i));
        wv[i] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
      }
      for (int j = 0; j < kTokens; ++j) {
        const float* xb = x + j * cols + b * 32;
        for (int i = 0; i < 4; ++i) {
          acc[j][i % kChains] =
              _mm256_fmadd_ps(wv[i], _mm256_loadu_ps(xb + 8 * i), acc[j][i % kChains]);
        }
      }
    }
    for (int j = 0; j < kTokens; ++j) {
      __m256 sum = acc[j][0];
      for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[j][c]);
      out[j * out_stride] = hsum(sum);
    }
  }
};

SHERRY_AVX2 float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t k = 0;
  for (; k + 32 <= n; k += 32) {
    for (int c = 0; c < 4; ++c) {
      acc[c] =
          _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8 * c), _mm256_loadu_ps(b + k + 8 * c), acc[c]);
    }
  }
  for (; k + 8 <= n; k += 8) {
    acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), acc[0]);
  }
  if (k < n) {
    const __m256i mask = tail_mask(n - k);
    acc[1] =
        _mm256_fmadd_ps(_mm256_maskload_ps(a + k, mask), _mm256_maskload_ps(b + k, mask), acc[1]);
  }
  return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

SHERRY_AVX2 float dot_f16_avx2(const float* a, const uint16_t* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), load8<FloatType::kF16>(b, k), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), load8<FloatType::kF16>(b, k + 8), acc1);
  }
  for (; k + 8 <= n; k += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), load8<FloatType::kF16>(b, k), acc0);
  }
  if (k < n) {
    const __m256i mask = tail_mask(n - k);
    acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + k, mask),
                           load8_tail<FloatType::kF16>(b, k, n - k, mask), acc1);
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

SHERRY_AVX2 void axpy_avx2(float alpha, const float* x, int64_t n, float* y) {
  const __m256 a = _mm256_set1_ps(alpha);
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    _mm256_storeu_ps(y + k, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + k), _mm256_loadu_ps(y + k)));
  }
  if (k < n) {
    const __m256i mask = tail_mask(n - k);
    _mm256_maskstore_ps(
        y + k, mask,
        _mm256_fmadd_ps(a, _mm256_maskload_ps(x + k, mask), _mm256_maskload_ps(y + k, mask)));
  }
}

SHERRY_AVX2 void axpy_f16_avx2(float alpha, const uint16_t* x, int64_t n, float* y) {
  const __m256 a = _mm256_set1_ps(alpha);
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    _mm256_storeu_ps(y + k,
                     _mm256_fmadd_ps(a, load8<FloatType::kF16>(x, k), _mm256_loadu_ps(y + k)));
  }
  if (k < n) {
    const __m256i mask = tail_mask(n - k);
    _mm256_maskstore_ps(y + k, mask,
                        _mm256_fmadd_ps(a, load8_tail<FloatType::kF16>(x, k, n - k, mask),
                                        _mm256_maskload_ps(y + k, mask)));
  }
}

SHERRY_AVX2 void to_fp16_avx2(const float* x, int64_t n, uint16_t* out) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + k), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; k < n; ++k) out[k] = float_to_fp16(x[k]);
}

// Eight values times inv, clamped to ±127, rounded half to even, NaN to 0, as int32.
SHERRY_AVX2 inline __m256i quantize8(__m256 inv, __m256 v) {
  const __m256 y = _mm256_mul_ps(v, inv);
  const __m256 clamped =
      _mm256_min_ps(_mm256_max_ps(y, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
  const __m256 number = _mm256_cmp_ps(y, y, _CMP_ORD_Q);
  return _mm256_and_si256(_mm256_cvtps_epi32(clamped), _mm256_castps_si256(number));
}

// quantize_token_i8's rule, as in the AVX-512 version (NaN handling by operand order, clamp
// before rounding, cvtps2dq's round half to even); eight tokens' values are packed to int8 by
// two saturating packs (in range already) and a lane fix-up.
SHERRY_AVX2 float quantize_i8_avx2(const float* x, int64_t n, int8_t* q) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 running = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    running = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)), running);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, running);
  float amax = 0.0f;
  for (const float v : lanes) amax = std::fmax(amax, v);
  for (; k < n; ++k) amax = std::fmax(amax, std::fabs(x[k]));
  if (amax == 0.0f) {
    std::memset(q, 0, static_cast<size_t>(n));
    return 0.0f;
  }
  const float inv_scalar = 127.0f / amax;
  const __m256 inv = _mm256_set1_ps(inv_scalar);
  k = 0;
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (; k + 32 <= n; k += 32) {
    const __m256i ab = _mm256_packs_epi32(quantize8(inv, _mm256_loadu_ps(x + k)),
                                          quantize8(inv, _mm256_loadu_ps(x + k + 8)));
    const __m256i cd = _mm256_packs_epi32(quantize8(inv, _mm256_loadu_ps(x + k + 16)),
                                          quantize8(inv, _mm256_loadu_ps(x + k + 24)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + k),
                        _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), order));
  }
  for (; k < n; ++k) {
    const float y = x[k] * inv_scalar;
    const float clamped = y > 127.0f ? 127.0f : y < -127.0f ? -127.0f : y;
    q[k] = std::isnan(clamped) ? 0 : static_cast<int8_t>(std::nearbyint(clamped));
  }
  return amax / 127.0f;
}

// e^x (exp_poly.h).
SHERRY_AVX2 inline __m256 exp8(__m256 x) {
  using namespace exp_poly;
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-kExpLimit)), _mm256_set1_ps(kExpLimit));
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(kLog2e), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kLn2Hi), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kLn2Lo), x);
  __m256 y = _mm256_set1_ps(kP0);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP1));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP2));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP3));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP4));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP5));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  return _mm256_mul_ps(y,
                       _mm256_castsi256_ps(_mm256_slli_epi32(
                           _mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23)));
}

// silu(gate) · up, W at a time; the tail through the portable formula's scalar steps.
SHERRY_AVX2 void swiglu_avx2(const float* gate, const float* up, int64_t n, float* out) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256 g = _mm256_loadu_ps(gate + k);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    _mm256_storeu_ps(
        out + k, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + k)));
  }
  for (; k < n; ++k) {
    const float g = gate[k];
    out[k] = g / (1.0f + std::exp(-g)) * up[k];
  }
}

// The portable softmax's steps (max, exp and sum, scale), W at a time.
SHERRY_AVX2 void softmax_avx2(float* x, int64_t n) {
  float max = x[0];
  int64_t k = 0;
  __m256 m = _mm256_set1_ps(x[0]);
  for (; k + 8 <= n; k += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + k));
  alignas(64) float lanes[8];
  _mm256_store_ps(lanes, m);
  for (const float v : lanes) max = std::max(max, v);
  for (; k < n; ++k) max = std::max(max, x[k]);
  const __m256 vmax = _mm256_set1_ps(max);
  __m256 acc = _mm256_setzero_ps();
  for (k = 0; k + 8 <= n; k += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + k), vmax));
    _mm256_storeu_ps(x + k, e);
    acc = _mm256_add_ps(acc, e);
  }
  _mm256_store_ps(lanes, acc);
  float sum = 0.0f;
  for (const float v : lanes) sum += v;
  for (; k < n; ++k) {
    x[k] = std::exp(x[k] - max);
    sum += x[k];
  }
  const float inv = 1.0f / sum;
  const __m256 vinv = _mm256_set1_ps(inv);
  for (k = 0; k + 8 <= n; k += 8)
    _mm256_storeu_ps(x + k, _mm256_mul_ps(_mm256_loadu_ps(x + k), vinv));
  for (; k < n; ++k) x[k] *= inv;
}

}  // namespace

const FloatKernelTable kAvx2Kernels = {
    gemm_rows_of_every_type<GemmRow, GemmRowQ8_0>,
    dot_avx2,
    dot_f16_avx2,
    axpy_avx2,
    axpy_f16_avx2,
    to_fp16_avx2,
    quantize_i8_avx2,
    swiglu_avx2,
    softmax_avx2,
};

}  // namespace sherry::runtime::float_impl

#endif  // __x86_64__
