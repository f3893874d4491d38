#include "jit/x64/table_builder_avx2.h"

#include <immintrin.h>

#include <array>

#include "core/ternary_code.h"

namespace sherry::jit::x64 {
namespace {

// Word w of a ymm holds slot w: lane w / 8, position w % 8. For the n-th non-zero lane of the
// slot (n < 3), pick[n] selects that activation's word out of a block's 4 (broadcast to every
// qword) and sign[n] is its sign-0 value (±1); split gathers each 128-bit lane's lo bytes into
// its first 8 bytes and its hi bytes into the last 8.
struct Constants {
  alignas(32) std::array<std::array<uint8_t, 32>, 3> pick;
  alignas(32) std::array<std::array<int16_t, 16>, 3> sign;
  alignas(32) std::array<uint8_t, 32> split;
};

Constants make_constants() {
  Constants c{};
  for (int w = 0; w < 16; ++w) {
    const auto slot = static_cast<uint8_t>(w);
    int n = 0;
    for (int p = 0; p < kWeightsPerBlock; ++p) {
      const int value = slot_lane_value(slot, p);
      if (value == 0) continue;
      const int byte = 16 * (w / 8) + 2 * (w % 8);
      c.pick[n][byte] = static_cast<uint8_t>(2 * p);
      c.pick[n][byte + 1] = static_cast<uint8_t>(2 * p + 1);
      c.sign[n][w] = static_cast<int16_t>(value);
      ++n;
    }
  }
  for (int lane = 0; lane < 2; ++lane) {
    for (int i = 0; i < 8; ++i) {
      c.split[16 * lane + i] = static_cast<uint8_t>(2 * i);
      c.split[16 * lane + 8 + i] = static_cast<uint8_t>(2 * i + 1);
    }
  }
  return c;
}

const Constants kConstants = make_constants();

}  // namespace

__attribute__((target("avx2"))) void build_block_tables_avx2(const int8_t* q, int64_t blocks,
                                                             uint8_t* tables) {
  const Constants& c = kConstants;
  __m256i pick[3], sign[3];
  for (int n = 0; n < 3; ++n) {
    pick[n] = _mm256_load_si256(reinterpret_cast<const __m256i*>(c.pick[n].data()));
    sign[n] = _mm256_load_si256(reinterpret_cast<const __m256i*>(c.sign[n].data()));
  }
  const __m256i split = _mm256_load_si256(reinterpret_cast<const __m256i*>(c.split.data()));
  for (int64_t b = 0; b < blocks; b += 4) {  // whole steps: k_pad is a multiple of 16
    // A step's 16 activations as words; qword j is block b + j.
    const __m256i words =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 4 * b)));
    for (int j = 0; j < 4; ++j) {
      __m256i block;
      switch (j) {  // the permute's control is an immediate
        case 0:
          block = _mm256_permute4x64_epi64(words, 0x00);
          break;
        case 1:
          block = _mm256_permute4x64_epi64(words, 0x55);
          break;
        case 2:
          block = _mm256_permute4x64_epi64(words, 0xAA);
          break;
        default:
          block = _mm256_permute4x64_epi64(words, 0xFF);
          break;
      }
      __m256i v = _mm256_sign_epi16(_mm256_shuffle_epi8(block, pick[0]), sign[0]);
      v = _mm256_add_epi16(v, _mm256_sign_epi16(_mm256_shuffle_epi8(block, pick[1]), sign[1]));
      v = _mm256_add_epi16(v, _mm256_sign_epi16(_mm256_shuffle_epi8(block, pick[2]), sign[2]));
      // [lo 0-7, hi 0-7 | lo 8-15, hi 8-15] -> [lo 0-15 | hi 0-15].
      const __m256i planes = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, split), 0xD8);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tables + 32 * (b + j)), planes);
    }
  }
}

}  // namespace sherry::jit::x64
