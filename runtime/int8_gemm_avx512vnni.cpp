// The int8 GEMM on AVX-512 with VNNI: 64 weights per vector. K-quants: vpmaddubsw of the
// unsigned codes with the int8 activations (int16 pair sums, no saturation: int8_gemm_avx2.cpp
// says why), then vpdpwssd multiplies them by the sub-block scales and adds them into int32
// lanes in one instruction. Q8_0: vpdpbusd of |w| with the activations carrying w's sign (a
// masked subtract: AVX-512 has no vpsignb), two 32-weight blocks per vector.
#include "runtime/int8_gemm_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <type_traits>

#include "runtime/k_quants.h"

// GCC 12's AVX-512 headers start some intrinsics from _mm512_undefined_*(): false positives.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define SHERRY_VNNI \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define SHERRY_VNNI_INLINE                                                              \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"), \
                 always_inline)) inline

namespace sherry::runtime::int8_impl {
namespace {

SHERRY_VNNI_INLINE int32_t hsum_i32(__m128i s) {
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

SHERRY_VNNI_INLINE int32_t hsum_i32(__m256i v) {
  return hsum_i32(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}

SHERRY_VNNI_INLINE float hsum_ps(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

SHERRY_VNNI_INLINE float hsum_ps(__m256 v) {
  return hsum_ps(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

SHERRY_VNNI_INLINE __m128i sums_of_32(const int16_t* sums16) {
  const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums16));
  return _mm_hadd_epi16(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

// vpermw indices: kPairs[k] spreads int16 values 2k (lanes 0-15) and 2k + 1 (lanes 16-31),
// kQuads[g] values 4g .. 4g + 3 over 8 lanes each.
struct PermuteIndices {
  alignas(64) int16_t pairs[4][32];
  alignas(64) int16_t quads[4][32];
  constexpr PermuteIndices() : pairs{}, quads{} {
    for (int k = 0; k < 4; ++k) {
      for (int i = 0; i < 32; ++i) {
        pairs[k][i] = static_cast<int16_t>(2 * k + i / 16);
        quads[k][i] = static_cast<int16_t>(4 * k + i / 8);
      }
    }
  }
};
constexpr PermuteIndices kIndices;

SHERRY_VNNI_INLINE __m512i load_indices(const int16_t* indices) {
  return _mm512_load_si512(indices);
}

// Q4_K and Q5_K (kFifthBit) super-blocks: s sums to S (16 lanes), m to M (int8_gemm.h).
template <bool kFifthBit>
struct K4Core {
  using Block = std::conditional_t<kFifthBit, Q5_KBlock, Q4_KBlock>;
  template <int kTokens>
  SHERRY_VNNI_INLINE static void lanes(const Block& w, const BlockOperands<kTokens>& x, __m512i* s,
                                       __m128i* m) {
    const __m256i scales_mins = _mm256_cvtepu8_epi16(k4_scales_and_mins(w.scales));
    const __m512i scales = _mm512_castsi256_si512(scales_mins);
    const __m128i mins = _mm256_extracti128_si256(scales_mins, 1);
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    // Chunks c = 0, 1 in the first vector, 2, 3 in the second; low nibbles are sub-blocks 2c,
    // high nibbles 2c + 1. Regrouped per 128-bit lane so that q[k] holds sub-blocks 2k, 2k + 1:
    // the activations' natural order.
    __m512i q[4];
    for (int v = 0; v < 2; ++v) {
      const __m512i bits = _mm512_loadu_si512(w.qs + 64 * v);
      const __m512i low = _mm512_and_si512(bits, low4);
      const __m512i high = _mm512_and_si512(_mm512_srli_epi16(bits, 4), low4);
      q[2 * v] = _mm512_shuffle_i64x2(low, high, 0x44);
      q[2 * v + 1] = _mm512_shuffle_i64x2(low, high, 0xEE);
    }
    if constexpr (kFifthBit) {
      // Sub-block j takes bit j of qh: [qh | qh >> 1] gives bits 2k and 2k + 1 at bit 0 of the
      // two halves after k shifts by 2.
      const __m256i top = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh));
      __m512i high_bits =
          _mm512_inserti64x4(_mm512_castsi256_si512(top), _mm256_srli_epi16(top, 1), 1);
      const __m512i bit4 = _mm512_set1_epi8(0x10);
      for (int k = 0; k < 4; ++k) {
        q[k] = _mm512_or_si512(q[k], _mm512_and_si512(_mm512_slli_epi16(high_bits, 4), bit4));
        high_bits = _mm512_srli_epi16(high_bits, 2);
      }
    }
    for (int j = 0; j < kTokens; ++j) {
      s[j] = _mm512_setzero_si512();
      m[j] = _mm_madd_epi16(mins, sums_of_32(x.sums[j]));
    }
    for (int k = 0; k < 4; ++k) {
      const __m512i scale = _mm512_permutexvar_epi16(load_indices(kIndices.pairs[k]), scales);
      for (int j = 0; j < kTokens; ++j) {
        const __m512i a = _mm512_loadu_si512(x.values[j] + 64 * k);
        s[j] = _mm512_dpwssd_epi32(s[j], _mm512_maddubs_epi16(q[k], a), scale);
      }
    }
  }
};

template <bool kFifthBit>
struct K4Row {
  using Core = K4Core<kFifthBit>;
  using Block = typename Core::Block;
  template <int kTokens>
  SHERRY_VNNI static void run(const void* row, const Int8Activations& x, int64_t t0, float* out,
                              int64_t out_stride) {
    const auto* blocks = static_cast<const Block*>(row);
    __m512 acc[kTokens];
    __m128 acc_min[kTokens];
    for (int j = 0; j < kTokens; ++j) {
      acc[j] = _mm512_setzero_ps();
      acc_min[j] = _mm_setzero_ps();
    }
    for (int64_t b = 0; b < x.cols / kKQuantBlockWeights; ++b) {
      const BlockOperands<kTokens> a(x, t0, b);
      __m512i s[kTokens];
      __m128i m[kTokens];
      Core::template lanes<kTokens>(blocks[b], a, s, m);
      const float d = _cvtsh_ss(blocks[b].d);
      const float dmin = _cvtsh_ss(blocks[b].dmin);
      for (int j = 0; j < kTokens; ++j) {
        const float scale = a.scales[j];
        acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(scale * d), _mm512_cvtepi32_ps(s[j]), acc[j]);
        acc_min[j] = _mm_fmadd_ps(_mm_set1_ps(-(scale * dmin)), _mm_cvtepi32_ps(m[j]), acc_min[j]);
      }
    }
    for (int j = 0; j < kTokens; ++j) {
      out[j * out_stride] = _mm512_reduce_add_ps(acc[j]) + hsum_ps(acc_min[j]);
    }
  }
  SHERRY_VNNI static void sums(const void* row, const Int8Activations& x, int64_t t, int32_t* out) {
    const auto* blocks = static_cast<const Block*>(row);
    for (int64_t b = 0; b < x.cols / kKQuantBlockWeights; ++b) {
      const BlockOperands<1> a(x, t, b);
      __m512i s;
      __m128i m;
      Core::template lanes<1>(blocks[b], a, &s, &m);
      out[2 * b] = _mm512_reduce_add_epi32(s);
      out[2 * b + 1] = hsum_i32(m);
    }
  }
};

// Q6_K super-blocks: per half, one vector of low nibbles (weights 0-63 of the half) and one of
// high nibbles (64-127), each four sub-blocks of 16, with their two top bits from
// [qh | qh >> 2].
struct K6Core {
  template <int kTokens>
  SHERRY_VNNI_INLINE static void lanes(const Q6_KBlock& w, const BlockOperands<kTokens>& x,
                                       __m512i* s, __m256i* m) {
    const __m256i scales16 =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales)));
    const __m512i scales = _mm512_castsi256_si512(scales16);
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    const __m512i bits45 = _mm512_set1_epi8(0x30);
    for (int j = 0; j < kTokens; ++j) {
      s[j] = _mm512_setzero_si512();
      m[j] = _mm256_madd_epi16(scales16,
                               _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.sums[j])));
    }
    for (int h = 0; h < 2; ++h) {
      const __m512i bits = _mm512_loadu_si512(w.ql + 64 * h);
      const __m256i top = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh + 32 * h));
      const __m512i tops =
          _mm512_inserti64x4(_mm512_castsi256_si512(top), _mm256_srli_epi16(top, 2), 1);
      const __m512i q_low = _mm512_or_si512(_mm512_and_si512(bits, low4),
                                            _mm512_and_si512(_mm512_slli_epi16(tops, 4), bits45));
      const __m512i q_high = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(bits, 4), low4),
                                             _mm512_and_si512(tops, bits45));
      const __m512i scale_low =
          _mm512_permutexvar_epi16(load_indices(kIndices.quads[2 * h]), scales);
      const __m512i scale_high =
          _mm512_permutexvar_epi16(load_indices(kIndices.quads[2 * h + 1]), scales);
      for (int j = 0; j < kTokens; ++j) {
        const int8_t* a = x.values[j] + 128 * h;
        s[j] = _mm512_dpwssd_epi32(s[j], _mm512_maddubs_epi16(q_low, _mm512_loadu_si512(a)),
                                   scale_low);
        s[j] = _mm512_dpwssd_epi32(s[j], _mm512_maddubs_epi16(q_high, _mm512_loadu_si512(a + 64)),
                                   scale_high);
      }
    }
  }
};

struct K6Row {
  template <int kTokens>
  SHERRY_VNNI static void run(const void* row, const Int8Activations& x, int64_t t0, float* out,
                              int64_t out_stride) {
    const auto* blocks = static_cast<const Q6_KBlock*>(row);
    __m512 acc[kTokens];
    __m256 acc_offset[kTokens];
    for (int j = 0; j < kTokens; ++j) {
      acc[j] = _mm512_setzero_ps();
      acc_offset[j] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < x.cols / kKQuantBlockWeights; ++b) {
      const BlockOperands<kTokens> a(x, t0, b);
      __m512i s[kTokens];
      __m256i m[kTokens];
      K6Core::lanes<kTokens>(blocks[b], a, s, m);
      const float d = _cvtsh_ss(blocks[b].d);
      for (int j = 0; j < kTokens; ++j) {
        const float scale = a.scales[j] * d;
        acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(scale), _mm512_cvtepi32_ps(s[j]), acc[j]);
        acc_offset[j] = _mm256_fmadd_ps(_mm256_set1_ps(-32.0f * scale), _mm256_cvtepi32_ps(m[j]),
                                        acc_offset[j]);
      }
    }
    for (int j = 0; j < kTokens; ++j) {
      out[j * out_stride] = _mm512_reduce_add_ps(acc[j]) + hsum_ps(acc_offset[j]);
    }
  }
  SHERRY_VNNI static void sums(const void* row, const Int8Activations& x, int64_t t, int32_t* out) {
    const auto* blocks = static_cast<const Q6_KBlock*>(row);
    for (int64_t b = 0; b < x.cols / kKQuantBlockWeights; ++b) {
      const BlockOperands<1> a(x, t, b);
      __m512i s;
      __m256i m;
      K6Core::lanes<1>(blocks[b], a, &s, &m);
      out[2 * b] = _mm512_reduce_add_epi32(s);
      out[2 * b + 1] = hsum_i32(m);
    }
  }
};

// Q8_0: two blocks per vector (lanes 0-7 the first, 8-15 the second), or one in a 256-bit
// vector for an odd last block.
struct Q8Core {
  template <int kTokens>
  SHERRY_VNNI_INLINE static void pair(const Q8_0Block& w0, const Q8_0Block& w1,
                                      const BlockOperands<kTokens>& x, __m512i* s) {
    const __m512i q = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w0.q))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w1.q)), 1);
    const __m512i magnitude = _mm512_abs_epi8(q);
    const __mmask64 negative = _mm512_movepi8_mask(q);
    for (int j = 0; j < kTokens; ++j) {
      const __m512i a = _mm512_loadu_si512(x.values[j]);
      const __m512i signed_a = _mm512_mask_sub_epi8(a, negative, _mm512_setzero_si512(), a);
      s[j] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), magnitude, signed_a);
    }
  }
  template <int kTokens>
  SHERRY_VNNI_INLINE static void single(const Q8_0Block& w, const BlockOperands<kTokens>& x,
                                        __m256i* s) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.q));
    const __m256i magnitude = _mm256_abs_epi8(q);
    for (int j = 0; j < kTokens; ++j) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.values[j]));
      s[j] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), magnitude, _mm256_sign_epi8(a, q));
    }
  }
};

struct Q8Row {
  template <int kTokens>
  SHERRY_VNNI static void run(const void* row, const Int8Activations& x, int64_t t0, float* out,
                              int64_t out_stride) {
    const auto* blocks = static_cast<const Q8_0Block*>(row);
    const int64_t count = x.cols / kQ8_0BlockWeights;
    __m512 acc[kTokens];
    for (int j = 0; j < kTokens; ++j) acc[j] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= count; b += 2) {
      const BlockOperands<kTokens> a(x, t0, b);
      __m512i s[kTokens];
      Q8Core::pair<kTokens>(blocks[b], blocks[b + 1], a, s);
      const float d0 = _cvtsh_ss(blocks[b].d);
      const float d1 = _cvtsh_ss(blocks[b + 1].d);
      for (int j = 0; j < kTokens; ++j) {
        const float* scales = x.token_scales(t0 + j) + b;  // blocks b and b + 1
        const __m512 scale =
            _mm512_insertf32x8(_mm512_set1_ps(scales[0] * d0), _mm256_set1_ps(scales[1] * d1), 1);
        acc[j] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(s[j]), acc[j]);
      }
    }
    __m256 tail[kTokens];
    for (int j = 0; j < kTokens; ++j) tail[j] = _mm256_setzero_ps();
    if (b < count) {
      const BlockOperands<kTokens> a(x, t0, b);
      __m256i s[kTokens];
      Q8Core::single<kTokens>(blocks[b], a, s);
      const float d = _cvtsh_ss(blocks[b].d);
      for (int j = 0; j < kTokens; ++j) {
        tail[j] = _mm256_mul_ps(_mm256_set1_ps(a.scales[j] * d), _mm256_cvtepi32_ps(s[j]));
      }
    }
    for (int j = 0; j < kTokens; ++j) {
      out[j * out_stride] = _mm512_reduce_add_ps(acc[j]) + hsum_ps(tail[j]);
    }
  }
  SHERRY_VNNI static void sums(const void* row, const Int8Activations& x, int64_t t, int32_t* out) {
    const auto* blocks = static_cast<const Q8_0Block*>(row);
    const int64_t count = x.cols / kQ8_0BlockWeights;
    int64_t b = 0;
    for (; b + 2 <= count; b += 2) {
      __m512i s;
      Q8Core::pair<1>(blocks[b], blocks[b + 1], BlockOperands<1>(x, t, b), &s);
      out[2 * b] = hsum_i32(_mm512_castsi512_si256(s));
      out[2 * b + 1] = 0;
      out[2 * b + 2] = hsum_i32(_mm512_extracti64x4_epi64(s, 1));
      out[2 * b + 3] = 0;
    }
    if (b < count) {
      __m256i s;
      Q8Core::single<1>(blocks[b], BlockOperands<1>(x, t, b), &s);
      out[2 * b] = hsum_i32(s);
      out[2 * b + 1] = 0;
    }
  }
};

using VnniDispatch = TypeDispatch<K4Row<false>, K4Row<true>, K6Row, Q8Row>;

}  // namespace

const Int8KernelTable kAvx512VnniKernels = {"avx512vnni", VnniDispatch::gemm_rows,
                                            VnniDispatch::block_sums};

}  // namespace sherry::runtime::int8_impl

#endif  // __x86_64__
