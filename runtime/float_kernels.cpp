#include "runtime/float_kernels.h"

#include <algorithm>
#include <cmath>

#include "core/half.h"

#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12's AVX-512 headers start some intrinsics from _mm512_undefined_*(): false positives.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define SHERRY_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))
#endif

namespace sherry::runtime {
namespace {

inline float bf16_value(uint16_t bits) {
  return bf16_to_float(bits);
}

// ---- portable versions ----

template <FloatType kType>
float load_scalar(const void* base, int64_t i) {
  if constexpr (kType == FloatType::kF32) return static_cast<const float*>(base)[i];
  if constexpr (kType == FloatType::kF16)
    return fp16_to_float(static_cast<const uint16_t*>(base)[i]);
  if constexpr (kType == FloatType::kBF16) return bf16_value(static_cast<const uint16_t*>(base)[i]);
}

template <FloatType kType>
void gemm_rows_generic(const FloatMatrix& w, const float* x, int64_t n, float* y, int64_t r0,
                       int64_t r1) {
  const int64_t cols = w.cols;
  for (int64_t m = r0; m < r1; ++m) {
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * cols;
      float acc[8] = {};
      int64_t k = 0;
      for (; k + 8 <= cols; k += 8) {
        for (int j = 0; j < 8; ++j)
          acc[j] += load_scalar<kType>(w.data, m * cols + k + j) * xt[k + j];
      }
      for (; k < cols; ++k) acc[0] += load_scalar<kType>(w.data, m * cols + k) * xt[k];
      y[t * w.rows + m] =
          ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
  }
}

void gemm_rows_q8_0_generic(const FloatMatrix& w, const float* x, int64_t n, float* y, int64_t r0,
                            int64_t r1) {
  const int64_t blocks = w.cols / kQ8_0BlockWeights;
  const auto* base = static_cast<const Q8_0Block*>(w.data);
  for (int64_t m = r0; m < r1; ++m) {
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * w.cols;
      float acc = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) {
        const Q8_0Block& block = base[m * blocks + b];
        float sum = 0.0f;
        for (int i = 0; i < 32; ++i) sum += static_cast<float>(block.q[i]) * xt[b * 32 + i];
        acc += fp16_to_float(block.d) * sum;
      }
      y[t * w.rows + m] = acc;
    }
  }
}

float dot_generic(const float* a, const float* b, int64_t n) {
  float acc[8] = {};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[k + j] * b[k + j];
  }
  for (; k < n; ++k) acc[0] += a[k] * b[k];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

float dot_f16_generic(const float* a, const uint16_t* b, int64_t n) {
  float acc = 0.0f;
  for (int64_t k = 0; k < n; ++k) acc += a[k] * fp16_to_float(b[k]);
  return acc;
}

void axpy_generic(float alpha, const float* x, int64_t n, float* y) {
  for (int64_t k = 0; k < n; ++k) y[k] += alpha * x[k];
}

void axpy_f16_generic(float alpha, const uint16_t* x, int64_t n, float* y) {
  for (int64_t k = 0; k < n; ++k) y[k] += alpha * fp16_to_float(x[k]);
}

void to_fp16_generic(const float* x, int64_t n, uint16_t* out) {
  for (int64_t k = 0; k < n; ++k) out[k] = float_to_fp16(x[k]);
}

#if defined(__x86_64__)
// ---- AVX-512 versions ----

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

// One row against kTokens tokens: the row is loaded once per 16 columns for all tokens.
template <FloatType kType, int kTokens>
SHERRY_AVX512 void gemm_row_avx512(const void* row, const float* x, int64_t cols, float* out,
                                   int64_t out_stride) {
  __m512 acc[kTokens];
  for (int j = 0; j < kTokens; ++j) acc[j] = _mm512_setzero_ps();
  int64_t k = 0;
  if constexpr (kTokens == 1) {
    // Decode: four independent chains hide the FMA latency.
    __m512 extra[3] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (; k + 64 <= cols; k += 64) {
      acc[0] = _mm512_fmadd_ps(load16<kType>(row, k), _mm512_loadu_ps(x + k), acc[0]);
      extra[0] = _mm512_fmadd_ps(load16<kType>(row, k + 16), _mm512_loadu_ps(x + k + 16), extra[0]);
      extra[1] = _mm512_fmadd_ps(load16<kType>(row, k + 32), _mm512_loadu_ps(x + k + 32), extra[1]);
      extra[2] = _mm512_fmadd_ps(load16<kType>(row, k + 48), _mm512_loadu_ps(x + k + 48), extra[2]);
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

template <FloatType kType>
SHERRY_AVX512 void gemm_rows_avx512(const FloatMatrix& w, const float* x, int64_t n, float* y,
                                    int64_t r0, int64_t r1) {
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t row_bytes = w.row_bytes();
  for (int64_t m = r0; m < r1; ++m) {
    const void* row = base + m * row_bytes;
    int64_t t = 0;
    for (; t + 4 <= n; t += 4)
      gemm_row_avx512<kType, 4>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
    switch (n - t) {
      case 3:
        gemm_row_avx512<kType, 3>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
        break;
      case 2:
        gemm_row_avx512<kType, 2>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
        break;
      case 1:
        gemm_row_avx512<kType, 1>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
        break;
      default:
        break;
    }
  }
}

// One Q8_0 row against kTokens tokens: each block's 32 int8 are widened once for all tokens.
template <int kTokens>
SHERRY_AVX512 void gemm_row_q8_0_avx512(const Q8_0Block* row, const float* x, int64_t cols,
                                        float* out, int64_t out_stride) {
  __m512 acc[kTokens];
  for (int j = 0; j < kTokens; ++j) acc[j] = _mm512_setzero_ps();
  const int64_t blocks = cols / kQ8_0BlockWeights;
  for (int64_t b = 0; b < blocks; ++b) {
    const __m512 d = _mm512_set1_ps(_cvtsh_ss(row[b].d));
    const __m128i* q = reinterpret_cast<const __m128i*>(row[b].q);
    const __m512 w0 =
        _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q))));
    const __m512 w1 =
        _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q + 1))));
    for (int j = 0; j < kTokens; ++j) {
      const float* xb = x + j * cols + b * 32;
      acc[j] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xb), acc[j]);
      acc[j] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xb + 16), acc[j]);
    }
  }
  for (int j = 0; j < kTokens; ++j) out[j * out_stride] = _mm512_reduce_add_ps(acc[j]);
}

SHERRY_AVX512 void gemm_rows_q8_0_avx512(const FloatMatrix& w, const float* x, int64_t n, float* y,
                                         int64_t r0, int64_t r1) {
  const int64_t blocks = w.cols / kQ8_0BlockWeights;
  const auto* base = static_cast<const Q8_0Block*>(w.data);
  for (int64_t m = r0; m < r1; ++m) {
    const Q8_0Block* row = base + m * blocks;
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) {
      gemm_row_q8_0_avx512<4>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
    }
    switch (n - t) {
      case 3:
        gemm_row_q8_0_avx512<3>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
        break;
      case 2:
        gemm_row_q8_0_avx512<2>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
        break;
      case 1:
        gemm_row_q8_0_avx512<1>(row, x + t * w.cols, w.cols, y + t * w.rows + m, w.rows);
        break;
      default:
        break;
    }
  }
}

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

bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
#else
bool cpu_has_avx512() {
  return false;
}
#endif

bool& use_avx512() {
  static bool value = cpu_has_avx512();
  return value;
}

template <FloatType kType>
void gemm_rows(const FloatMatrix& w, const float* x, int64_t n, float* y, int64_t r0, int64_t r1) {
#if defined(__x86_64__)
  if (use_avx512()) return gemm_rows_avx512<kType>(w, x, n, y, r0, r1);
#endif
  gemm_rows_generic<kType>(w, x, n, y, r0, r1);
}

struct GemmArgs {
  const FloatMatrix* w;
  const float* x;
  int64_t n;
  float* y;
};

void gemm_range(const GemmArgs& a, int64_t r0, int64_t r1) {
  switch (a.w->type) {
    case FloatType::kF32:
      return gemm_rows<FloatType::kF32>(*a.w, a.x, a.n, a.y, r0, r1);
    case FloatType::kF16:
      return gemm_rows<FloatType::kF16>(*a.w, a.x, a.n, a.y, r0, r1);
    case FloatType::kBF16:
      return gemm_rows<FloatType::kBF16>(*a.w, a.x, a.n, a.y, r0, r1);
    case FloatType::kQ8_0:
#if defined(__x86_64__)
      if (use_avx512()) return gemm_rows_q8_0_avx512(*a.w, a.x, a.n, a.y, r0, r1);
#endif
      return gemm_rows_q8_0_generic(*a.w, a.x, a.n, a.y, r0, r1);
  }
}

}  // namespace

int64_t FloatMatrix::row_bytes() const {
  switch (type) {
    case FloatType::kF32:
      return cols * 4;
    case FloatType::kF16:
    case FloatType::kBF16:
      return cols * 2;
    case FloatType::kQ8_0:
      return cols / kQ8_0BlockWeights * static_cast<int64_t>(sizeof(Q8_0Block));
  }
  return 0;
}

std::optional<FloatType> float_type_of(gguf::TensorType type) {
  switch (type) {
    case gguf::TensorType::kF32:
      return FloatType::kF32;
    case gguf::TensorType::kF16:
      return FloatType::kF16;
    case gguf::TensorType::kBF16:
      return FloatType::kBF16;
    case gguf::TensorType::kQ8_0:
      return FloatType::kQ8_0;
    default:
      return std::nullopt;
  }
}

void quantize_q8_0_row(const float* x, int64_t cols, Q8_0Block* out) {
  for (int64_t b = 0; b < cols / kQ8_0BlockWeights; ++b) {
    const float* xb = x + b * kQ8_0BlockWeights;
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = float_to_fp16(d);
    for (int i = 0; i < 32; ++i) out[b].q[i] = static_cast<int8_t>(std::lround(xb[i] * inv));
  }
}

void FloatMatrix::row_to_float(int64_t row, float* out) const {
  if (type == FloatType::kQ8_0) {
    const int64_t blocks = cols / kQ8_0BlockWeights;
    const auto* base = static_cast<const Q8_0Block*>(data) + row * blocks;
    for (int64_t b = 0; b < blocks; ++b) {
      const float d = fp16_to_float(base[b].d);
      for (int i = 0; i < 32; ++i) out[b * 32 + i] = d * static_cast<float>(base[b].q[i]);
    }
    return;
  }
  for (int64_t k = 0; k < cols; ++k) {
    const int64_t i = row * cols + k;
    switch (type) {
      case FloatType::kF32:
        out[k] = load_scalar<FloatType::kF32>(data, i);
        break;
      case FloatType::kF16:
        out[k] = load_scalar<FloatType::kF16>(data, i);
        break;
      case FloatType::kBF16:
        out[k] = load_scalar<FloatType::kBF16>(data, i);
        break;
      case FloatType::kQ8_0:
        break;  // handled above
    }
  }
}

void float_gemm(const FloatMatrix& w, const float* x, int64_t n, float* y, ThreadPool* pool) {
  const GemmArgs args{&w, x, n, y};
  if (pool == nullptr || pool->size() == 1 || w.rows < 64) {
    gemm_range(args, 0, w.rows);
    return;
  }
  // One pointer captured: std::function keeps it inline, so no allocation per call.
  const GemmArgs* a = &args;
  pool->parallel_for(w.rows, 16,
                     [a](int64_t begin, int64_t end, int) { gemm_range(*a, begin, end); });
}

float dot(const float* a, const float* b, int64_t n) {
#if defined(__x86_64__)
  if (use_avx512()) return dot_avx512(a, b, n);
#endif
  return dot_generic(a, b, n);
}

float dot_f16(const float* a, const uint16_t* b, int64_t n) {
#if defined(__x86_64__)
  if (use_avx512()) return dot_f16_avx512(a, b, n);
#endif
  return dot_f16_generic(a, b, n);
}

void axpy(float alpha, const float* x, int64_t n, float* y) {
#if defined(__x86_64__)
  if (use_avx512()) return axpy_avx512(alpha, x, n, y);
#endif
  axpy_generic(alpha, x, n, y);
}

void axpy_f16(float alpha, const uint16_t* x, int64_t n, float* y) {
#if defined(__x86_64__)
  if (use_avx512()) return axpy_f16_avx512(alpha, x, n, y);
#endif
  axpy_f16_generic(alpha, x, n, y);
}

void to_fp16(const float* x, int64_t n, uint16_t* out) {
#if defined(__x86_64__)
  if (use_avx512()) return to_fp16_avx512(x, n, out);
#endif
  to_fp16_generic(x, n, out);
}

void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  const float mean_square = dot(x, x, n) / static_cast<float>(n);
  const float inv = 1.0f / std::sqrt(mean_square + eps);
  for (int64_t k = 0; k < n; ++k) out[k] = x[k] * inv * weight[k];
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t k = 0; k < n; ++k) {
    const float g = gate[k];
    out[k] = g / (1.0f + std::exp(-g)) * up[k];
  }
}

void softmax(float* x, int64_t n) {
  float max = x[0];
  for (int64_t k = 1; k < n; ++k) max = std::max(max, x[k]);
  float sum = 0.0f;
  for (int64_t k = 0; k < n; ++k) {
    x[k] = std::exp(x[k] - max);
    sum += x[k];
  }
  const float inv = 1.0f / sum;
  for (int64_t k = 0; k < n; ++k) x[k] *= inv;
}

const char* float_kernels_isa() {
  return use_avx512() ? "avx512" : "generic";
}

void set_float_kernels_generic(bool generic) {
  use_avx512() = !generic && cpu_has_avx512();
}

}  // namespace sherry::runtime
