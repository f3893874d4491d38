#include "jit/x64/table_builder_avx512.h"

#include <immintrin.h>

// GCC 12's intrinsic headers start some results from _mm*_undefined_*(), which its
// -Wmaybe-uninitialized reports at every use: a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <array>
#include <cstring>

#include "ir/tables.h"

#include "core/ternary_code.h"

namespace sherry::jit::x64 {
namespace {

// Word lane c of half u (blocks 2u, 2u + 1): block j = 2u + c / 16, slot = c % 16,
// v = cA·q[4j + n0] + cB·q[4j + n1] + cC·q[4j + n2] over the slot's non-zero lanes n0 < n1 < n2.
struct Constants {
  alignas(64) std::array<std::array<int16_t, 32>, 2> index_a, index_b, index_c;
  alignas(64) std::array<int16_t, 32> value_a, value_b, value_c;
};

Constants make_constants() {
  Constants c{};
  for (int lane = 0; lane < 32; ++lane) {
    const auto slot = static_cast<uint8_t>(lane % kSlotCount);
    int lanes[3], values[3], n = 0;
    for (int p = 0; p < kWeightsPerBlock; ++p) {
      const int value = slot_lane_value(slot, p);
      if (value != 0) {
        lanes[n] = p;
        values[n++] = value;
      }
    }
    for (int u = 0; u < 2; ++u) {
      const int j = 2 * u + lane / kSlotCount;
      c.index_a[u][lane] = static_cast<int16_t>(4 * j + lanes[0]);
      c.index_b[u][lane] = static_cast<int16_t>(4 * j + lanes[1]);
      c.index_c[u][lane] = static_cast<int16_t>(4 * j + lanes[2]);
    }
    c.value_a[lane] = static_cast<int16_t>(values[0]);
    c.value_b[lane] = static_cast<int16_t>(values[1]);
    c.value_c[lane] = static_cast<int16_t>(values[2]);
  }
  return c;
}

const Constants kConstants = make_constants();

struct Int8Scale {
  float inv, tau;
};
Int8Scale int8_scale(uint32_t max_abs) {
  const ir::Int8TableScale s = ir::int8_table_scale(static_cast<int32_t>(max_abs));
  return {s.inv, s.tau};
}

}  // namespace

namespace {

// The 64 int16 entries of one step: blocks 0-1 in words[0], blocks 2-3 in words[1].
struct StepEntries {
  __m512i words[2];
};

class EntryMaker {
 public:
  __attribute__((target("avx512f,avx512bw"))) EntryMaker() {
    const Constants& c = kConstants;
    value_a_ = _mm512_load_si512(c.value_a.data());
    value_b_ = _mm512_load_si512(c.value_b.data());
    value_c_ = _mm512_load_si512(c.value_c.data());
    for (int u = 0; u < 2; ++u) {
      index_a_[u] = _mm512_load_si512(c.index_a[u].data());
      index_b_[u] = _mm512_load_si512(c.index_b[u].data());
      index_c_[u] = _mm512_load_si512(c.index_c[u].data());
    }
  }
  __attribute__((target("avx512f,avx512bw"))) StepEntries operator()(const int8_t* q16) const {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q16));
    const __m512i words = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(bytes));
    StepEntries e;
    for (int u = 0; u < 2; ++u) {
      __m512i v = _mm512_mullo_epi16(_mm512_permutexvar_epi16(index_a_[u], words), value_a_);
      v = _mm512_add_epi16(
          v, _mm512_mullo_epi16(_mm512_permutexvar_epi16(index_b_[u], words), value_b_));
      v = _mm512_add_epi16(
          v, _mm512_mullo_epi16(_mm512_permutexvar_epi16(index_c_[u], words), value_c_));
      e.words[u] = v;
    }
    return e;
  }

 private:
  __m512i value_a_, value_b_, value_c_;
  __m512i index_a_[2], index_b_[2], index_c_[2];
};

}  // namespace

__attribute__((target("avx512f,avx512bw"))) void build_step_tables_avx512(const int8_t* q,
                                                                          int64_t steps,
                                                                          uint8_t* tables) {
  const EntryMaker make;
  const __m512i two = _mm512_set1_epi16(2);
  const __mmask32 all = ~__mmask32{0};
  for (int64_t s = 0; s < steps; ++s) {
    const StepEntries e = make(q + 16 * s);
    uint8_t* lo = tables + 128 * s;
    uint8_t* hi = lo + 64;
    for (int u = 0; u < 2; ++u) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + 32 * u),
                          _mm512_maskz_cvtepi16_epi8(all, e.words[u]));
      _mm256_storeu_si256(
          reinterpret_cast<__m256i*>(hi + 32 * u),
          _mm512_maskz_cvtepi16_epi8(all, _mm512_add_epi16(_mm512_srai_epi16(e.words[u], 8), two)));
    }
  }
}

__attribute__((target("avx512f,avx512bw"))) void build_int8_tables_avx512(const int8_t* q,
                                                                          int64_t groups,
                                                                          int64_t steps_per_group,
                                                                          uint8_t* tables) {
  const EntryMaker make;
  const __m512i bias = _mm512_set1_epi32(128);
  uint8_t* out = tables;
  for (int64_t g = 0; g < groups; ++g) {
    const int8_t* qg = q + 16 * g * steps_per_group;
    __m512i max_abs = _mm512_setzero_si512();
    for (int64_t s = 0; s < steps_per_group; ++s) {
      const StepEntries e = make(qg + 16 * s);
      max_abs = _mm512_max_epu16(max_abs, _mm512_abs_epi16(e.words[0]));
      max_abs = _mm512_max_epu16(max_abs, _mm512_abs_epi16(e.words[1]));
    }
    const __m512i max32 = _mm512_max_epu32(_mm512_and_si512(max_abs, _mm512_set1_epi32(0xFFFF)),
                                           _mm512_srli_epi32(max_abs, 16));
    const Int8Scale scale = int8_scale(_mm512_reduce_max_epu32(max32));
    const __m512 inv = _mm512_set1_ps(scale.inv);
    for (int64_t s = 0; s < steps_per_group; ++s) {
      const StepEntries e = make(qg + 16 * s);
      for (int u = 0; u < 2; ++u) {
        for (int half = 0; half < 2; ++half) {
          const __m256i w16 = half == 0 ? _mm512_castsi512_si256(e.words[u])
                                        : _mm512_extracti64x4_epi64(e.words[u], 1);
          const __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(w16));
          const __m512i t8 = _mm512_cvtps_epi32(_mm512_mul_ps(v, inv));  // round half even
          _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32 * u + 16 * half),
                           _mm512_cvtepi32_epi8(_mm512_add_epi32(t8, bias)));
        }
      }
      out += 64;
    }
    std::memset(out, 0, 64);
    std::memcpy(out, &scale.tau, sizeof(float));
    out += 64;
  }
}

}  // namespace sherry::jit::x64
