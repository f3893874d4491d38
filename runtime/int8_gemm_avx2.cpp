// The int8 GEMM on AVX2 (with FMA and F16C): 32 weights per vector. Weight codes are unsigned
// (K-quants) or made unsigned with their sign moved onto the activation (Q8_0), so vpmaddubsw
// multiplies them with the int8 activations into int16 pair sums, which cannot saturate (at most
// 2·63·127 for Q6_K's codes, 2·128·127 for Q8_0); vpmaddwd then applies the sub-block scales (or
// ones) into int32 lanes. Per block the lanes are converted to float once and scaled with one FMA.
#include "runtime/int8_gemm_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <type_traits>

#include "runtime/k_quants.h"

#define SHERRY_AVX2 __attribute__((target("avx2,fma,f16c")))
#define SHERRY_AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) inline

namespace sherry::runtime::int8_impl {
namespace {

SHERRY_AVX2_INLINE int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

SHERRY_AVX2_INLINE int32_t hsum_i32(__m128i s) {
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

SHERRY_AVX2_INLINE float hsum_ps(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

SHERRY_AVX2_INLINE float hsum_ps(__m256 v) {
  return hsum_ps(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

// int16 value j of a vector repeated in every int16 lane of each 128-bit half.
SHERRY_AVX2_INLINE __m256i broadcast_i16(__m256i v, int j) {
  return _mm256_shuffle_epi8(v, _mm256_set1_epi16(static_cast<int16_t>((2 * j + 1) << 8 | 2 * j)));
}

// The 16-value sums of one super-block added in pairs: the 8 sums of 32.
SHERRY_AVX2_INLINE __m128i sums_of_32(const int16_t* sums16) {
  const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums16));
  return _mm_hadd_epi16(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

// Q4_K and Q5_K (kFifthBit) super-blocks. Lanes: s sums to S, m to M (int8_gemm.h).
template <bool kFifthBit>
struct K4Core {
  using Block = std::conditional_t<kFifthBit, Q5_KBlock, Q4_KBlock>;
  template <int kTokens>
  SHERRY_AVX2_INLINE static void lanes(const Block& w, const BlockOperands<kTokens>& x, __m256i* s,
                                       __m128i* m) {
    const __m256i scales_mins = _mm256_cvtepu8_epi16(k4_scales_and_mins(w.scales));
    const __m256i scales = _mm256_permute2x128_si256(scales_mins, scales_mins, 0x00);
    const __m128i mins = _mm256_extracti128_si256(scales_mins, 1);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    __m256i high_bits = _mm256_setzero_si256();
    if constexpr (kFifthBit) high_bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh));
    for (int j = 0; j < kTokens; ++j) {
      s[j] = _mm256_setzero_si256();
      m[j] = _mm_madd_epi16(mins, sums_of_32(x.sums[j]));
    }
    for (int c = 0; c < 4; ++c) {  // 64 weights: sub-blocks 2c (low nibbles), 2c + 1 (high)
      const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * c));
      __m256i low = _mm256_and_si256(bits, low4);
      __m256i high = _mm256_and_si256(_mm256_srli_epi16(bits, 4), low4);
      if constexpr (kFifthBit) {  // bits 2c and 2c + 1 of qh, moved to bit 4
        low = _mm256_or_si256(low, _mm256_and_si256(_mm256_slli_epi16(high_bits, 4), bit4));
        high = _mm256_or_si256(high, _mm256_and_si256(_mm256_slli_epi16(high_bits, 3), bit4));
        high_bits = _mm256_srli_epi16(high_bits, 2);
      }
      const __m256i scale_low = broadcast_i16(scales, 2 * c);
      const __m256i scale_high = broadcast_i16(scales, 2 * c + 1);
      for (int j = 0; j < kTokens; ++j) {
        const auto* a = reinterpret_cast<const __m256i*>(x.values[j] + 64 * c);
        const __m256i p_low = _mm256_maddubs_epi16(low, _mm256_loadu_si256(a));
        const __m256i p_high = _mm256_maddubs_epi16(high, _mm256_loadu_si256(a + 1));
        s[j] = _mm256_add_epi32(s[j], _mm256_madd_epi16(p_low, scale_low));
        s[j] = _mm256_add_epi32(s[j], _mm256_madd_epi16(p_high, scale_high));
      }
    }
  }
};

template <bool kFifthBit>
struct K4Row {
  using Core = K4Core<kFifthBit>;
  using Block = typename Core::Block;
  template <int kTokens>
  SHERRY_AVX2 static void run(const void* row, const Int8Activations& x, int64_t t0, float* out,
                              int64_t out_stride) {
    const auto* blocks = static_cast<const Block*>(row);
    __m256 acc[kTokens];
    __m128 acc_min[kTokens];
    for (int j = 0; j < kTokens; ++j) {
      acc[j] = _mm256_setzero_ps();
      acc_min[j] = _mm_setzero_ps();
    }
    for (int64_t b = 0; b < x.cols / kKQuantBlockWeights; ++b) {
      const BlockOperands<kTokens> a(x, t0, b);
      __m256i s[kTokens];
      __m128i m[kTokens];
      Core::template lanes<kTokens>(blocks[b], a, s, m);
      const float d = _cvtsh_ss(blocks[b].d);
      const float dmin = _cvtsh_ss(blocks[b].dmin);
      for (int j = 0; j < kTokens; ++j) {
        const float scale = a.scales[j];
        acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(scale * d), _mm256_cvtepi32_ps(s[j]), acc[j]);
        acc_min[j] = _mm_fmadd_ps(_mm_set1_ps(-(scale * dmin)), _mm_cvtepi32_ps(m[j]), acc_min[j]);
      }
    }
    for (int j = 0; j < kTokens; ++j) {
      out[j * out_stride] = hsum_ps(acc[j]) + hsum_ps(acc_min[j]);
    }
  }
  SHERRY_AVX2 static void sums(const void* row, const Int8Activations& x, int64_t t, int32_t* out) {
    const auto* blocks = static_cast<const Block*>(row);
    for (int64_t b = 0; b < x.cols / kKQuantBlockWeights; ++b) {
      const BlockOperands<1> a(x, t, b);
      __m256i s;
      __m128i m;
      Core::template lanes<1>(blocks[b], a, &s, &m);
      out[2 * b] = hsum_i32(s);
      out[2 * b + 1] = hsum_i32(m);
    }
  }
};

// Q6_K super-blocks: S over the codes q ∈ [0, 63] (unsigned for vpmaddubsw), M the scaled
// 16-value sums that take the 32 back off.
struct K6Core {
  template <int kTokens>
  SHERRY_AVX2_INLINE static void lanes(const Q6_KBlock& w, const BlockOperands<kTokens>& x,
                                       __m256i* s, __m256i* m) {
    const __m128i scales8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));
    const __m256i scales16 = _mm256_cvtepi8_epi16(scales8);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i bits45 = _mm256_set1_epi8(0x30);
    for (int j = 0; j < kTokens; ++j) {
      s[j] = _mm256_setzero_si256();
      m[j] = _mm256_madd_epi16(scales16,
                               _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.sums[j])));
    }
    for (int h = 0; h < 2; ++h) {  // 128 weights
      const auto* ql = reinterpret_cast<const __m256i*>(w.ql + 64 * h);
      const __m256i bits_a = _mm256_loadu_si256(ql);
      const __m256i bits_b = _mm256_loadu_si256(ql + 1);
      const __m256i top = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh + 32 * h));
      __m256i q[4];  // weights 32k .. 32k + 31 of the half
      q[0] = _mm256_or_si256(_mm256_and_si256(bits_a, low4),
                             _mm256_and_si256(_mm256_slli_epi16(top, 4), bits45));
      q[1] = _mm256_or_si256(_mm256_and_si256(bits_b, low4),
                             _mm256_and_si256(_mm256_slli_epi16(top, 2), bits45));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits_a, 4), low4),
                             _mm256_and_si256(top, bits45));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits_b, 4), low4),
                             _mm256_and_si256(_mm256_srli_epi16(top, 2), bits45));
      for (int k = 0; k < 4; ++k) {
        // Sub-blocks 8h + 2k (lanes 0-7) and 8h + 2k + 1 (lanes 8-15).
        const int sub = 8 * h + 2 * k;
        const __m128i pick =
            _mm_set_epi64x(0x0101010101010101LL * (sub + 1), 0x0101010101010101LL * sub);
        const __m256i scale = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, pick));
        for (int j = 0; j < kTokens; ++j) {
          const __m256i a =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.values[j] + 128 * h + 32 * k));
          s[j] = _mm256_add_epi32(s[j], _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], a), scale));
        }
      }
    }
  }
};

struct K6Row {
  template <int kTokens>
  SHERRY_AVX2 static void run(const void* row, const Int8Activations& x, int64_t t0, float* out,
                              int64_t out_stride) {
    const auto* blocks = static_cast<const Q6_KBlock*>(row);
    __m256 acc[kTokens];
    for (int j = 0; j < kTokens; ++j) acc[j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < x.cols / kKQuantBlockWeights; ++b) {
      const BlockOperands<kTokens> a(x, t0, b);
      __m256i s[kTokens], m[kTokens];
      K6Core::lanes<kTokens>(blocks[b], a, s, m);
      const float d = _cvtsh_ss(blocks[b].d);
      for (int j = 0; j < kTokens; ++j) {
        const float scale = a.scales[j] * d;
        acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(s[j]), acc[j]);
        acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(-32.0f * scale), _mm256_cvtepi32_ps(m[j]), acc[j]);
      }
    }
    for (int j = 0; j < kTokens; ++j) out[j * out_stride] = hsum_ps(acc[j]);
  }
  SHERRY_AVX2 static void sums(const void* row, const Int8Activations& x, int64_t t, int32_t* out) {
    const auto* blocks = static_cast<const Q6_KBlock*>(row);
    for (int64_t b = 0; b < x.cols / kKQuantBlockWeights; ++b) {
      const BlockOperands<1> a(x, t, b);
      __m256i s, m;
      K6Core::lanes<1>(blocks[b], a, &s, &m);
      out[2 * b] = hsum_i32(s);
      out[2 * b + 1] = hsum_i32(m);
    }
  }
};

// Q8_0 blocks: |w| (unsigned) times the activation with w's sign; vpmaddwd with ones adds the
// pairs into int32 lanes.
struct Q8Core {
  template <int kTokens>
  SHERRY_AVX2_INLINE static void lanes(const Q8_0Block& w, const BlockOperands<kTokens>& x,
                                       __m256i* s) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.q));
    const __m256i magnitude = _mm256_abs_epi8(q);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int j = 0; j < kTokens; ++j) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.values[j]));
      s[j] = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(a, q)), ones);
    }
  }
};

struct Q8Row {
  template <int kTokens>
  SHERRY_AVX2 static void run(const void* row, const Int8Activations& x, int64_t t0, float* out,
                              int64_t out_stride) {
    const auto* blocks = static_cast<const Q8_0Block*>(row);
    __m256 acc[kTokens];
    for (int j = 0; j < kTokens; ++j) acc[j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < x.cols / kQ8_0BlockWeights; ++b) {
      const BlockOperands<kTokens> a(x, t0, b);
      __m256i s[kTokens];
      Q8Core::lanes<kTokens>(blocks[b], a, s);
      const float d = _cvtsh_ss(blocks[b].d);
      for (int j = 0; j < kTokens; ++j) {
        const float scale = a.scales[j] * d;
        acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(s[j]), acc[j]);
      }
    }
    for (int j = 0; j < kTokens; ++j) out[j * out_stride] = hsum_ps(acc[j]);
  }
  SHERRY_AVX2 static void sums(const void* row, const Int8Activations& x, int64_t t, int32_t* out) {
    const auto* blocks = static_cast<const Q8_0Block*>(row);
    for (int64_t b = 0; b < x.cols / kQ8_0BlockWeights; ++b) {
      __m256i s;
      Q8Core::lanes<1>(blocks[b], BlockOperands<1>(x, t, b), &s);
      out[2 * b] = hsum_i32(s);
      out[2 * b + 1] = 0;
    }
  }
};

using Avx2Dispatch = TypeDispatch<K4Row<false>, K4Row<true>, K6Row, Q8Row>;

}  // namespace

const Int8KernelTable kAvx2Kernels = {"avx2", Avx2Dispatch::gemm_rows, Avx2Dispatch::block_sums};

}  // namespace sherry::runtime::int8_impl

#endif  // __x86_64__
