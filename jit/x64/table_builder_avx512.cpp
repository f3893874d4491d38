#include "jit/x64/table_builder_avx512.h"

#include <immintrin.h>

#include <array>

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

}  // namespace

__attribute__((target("avx512f,avx512bw"))) void build_step_tables_avx512(const int8_t* q,
                                                                          int64_t steps,
                                                                          uint8_t* tables) {
  const Constants& c = kConstants;
  const __m512i value_a = _mm512_load_si512(c.value_a.data());
  const __m512i value_b = _mm512_load_si512(c.value_b.data());
  const __m512i value_c = _mm512_load_si512(c.value_c.data());
  const __m512i two = _mm512_set1_epi16(2);
  const __mmask32 all = ~__mmask32{0};
  __m512i index_a[2], index_b[2], index_c[2];
  for (int u = 0; u < 2; ++u) {
    index_a[u] = _mm512_load_si512(c.index_a[u].data());
    index_b[u] = _mm512_load_si512(c.index_b[u].data());
    index_c[u] = _mm512_load_si512(c.index_c[u].data());
  }
  for (int64_t s = 0; s < steps; ++s) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16 * s));
    const __m512i words = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(bytes));
    uint8_t* lo = tables + 128 * s;
    uint8_t* hi = lo + 64;
    for (int u = 0; u < 2; ++u) {
      __m512i v = _mm512_mullo_epi16(_mm512_permutexvar_epi16(index_a[u], words), value_a);
      v = _mm512_add_epi16(
          v, _mm512_mullo_epi16(_mm512_permutexvar_epi16(index_b[u], words), value_b));
      v = _mm512_add_epi16(
          v, _mm512_mullo_epi16(_mm512_permutexvar_epi16(index_c[u], words), value_c));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + 32 * u),
                          _mm512_maskz_cvtepi16_epi8(all, v));
      _mm256_storeu_si256(
          reinterpret_cast<__m256i*>(hi + 32 * u),
          _mm512_maskz_cvtepi16_epi8(all, _mm512_add_epi16(_mm512_srai_epi16(v, 8), two)));
    }
  }
}

}  // namespace sherry::jit::x64
