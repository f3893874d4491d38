#include "jit/x64/table_builder_avx512.h"

#include <immintrin.h>

#include <array>

#include "core/ternary_code.h"

namespace sherry::jit::x64 {
namespace {

// Word lane c (code) of block j: v = cA·q[4j + n0] + cB·q[4j + n1] + cC·q[4j + n2], where n0 < n1
// < n2 are the slot's non-zero lanes and the c's carry the code's signs.
struct Constants {
  alignas(64) std::array<std::array<int16_t, 32>, 4> index_a, index_b, index_c;
  alignas(64) std::array<int16_t, 32> sign_a, sign_b, sign_c;
};

Constants make_constants() {
  Constants c{};
  for (int code = 0; code < kCodeCount; ++code) {
    const uint8_t slot = code_slot(static_cast<uint8_t>(code));
    const int sign = code_sign(static_cast<uint8_t>(code)) ? -1 : 1;
    int lanes[3], values[3], n = 0;
    for (int p = 0; p < kWeightsPerBlock; ++p) {
      const int value = slot_lane_value(slot, p);
      if (value != 0) {
        lanes[n] = p;
        values[n++] = value;
      }
    }
    for (int j = 0; j < 4; ++j) {
      c.index_a[j][code] = static_cast<int16_t>(4 * j + lanes[0]);
      c.index_b[j][code] = static_cast<int16_t>(4 * j + lanes[1]);
      c.index_c[j][code] = static_cast<int16_t>(4 * j + lanes[2]);
    }
    c.sign_a[code] = static_cast<int16_t>(sign * values[0]);
    c.sign_b[code] = static_cast<int16_t>(sign * values[1]);
    c.sign_c[code] = static_cast<int16_t>(sign * values[2]);
  }
  return c;
}

const Constants kConstants = make_constants();

}  // namespace

__attribute__((target("avx512f,avx512bw"))) void build_sign_folded_tables_avx512(const int8_t* q,
                                                                                 int64_t steps,
                                                                                 uint8_t* tables) {
  const Constants& c = kConstants;
  const __m512i sign_a = _mm512_load_si512(c.sign_a.data());
  const __m512i sign_b = _mm512_load_si512(c.sign_b.data());
  const __m512i sign_c = _mm512_load_si512(c.sign_c.data());
  __m512i index_a[4], index_b[4], index_c[4];
  for (int j = 0; j < 4; ++j) {
    index_a[j] = _mm512_load_si512(c.index_a[j].data());
    index_b[j] = _mm512_load_si512(c.index_b[j].data());
    index_c[j] = _mm512_load_si512(c.index_c[j].data());
  }
  for (int64_t s = 0; s < steps; ++s) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16 * s));
    const __m512i words = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(bytes));
    uint8_t* lo = tables + 256 * s;
    uint8_t* hi = lo + 128;
    for (int j = 0; j < 4; ++j) {
      __m512i v = _mm512_mullo_epi16(_mm512_permutexvar_epi16(index_a[j], words), sign_a);
      v = _mm512_add_epi16(v,
                           _mm512_mullo_epi16(_mm512_permutexvar_epi16(index_b[j], words), sign_b));
      v = _mm512_add_epi16(v,
                           _mm512_mullo_epi16(_mm512_permutexvar_epi16(index_c[j], words), sign_c));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + 32 * j),
                          _mm512_maskz_cvtepi16_epi8(~__mmask32{0}, v));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi + 32 * j),
                          _mm512_maskz_cvtepi16_epi8(~__mmask32{0}, _mm512_srai_epi16(v, 8)));
    }
  }
}

}  // namespace sherry::jit::x64
