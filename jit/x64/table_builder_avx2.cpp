#include "jit/x64/table_builder_avx2.h"

#include <immintrin.h>

#include "core/error.h"

namespace sherry::jit::x64 {

BlockTableBuilder::BlockTableBuilder(const LaneCoefficients& coefficients) {
  for (int p = 0; p < kWeightsPerBlock; ++p) {
    for (int w = 0; w < kSlotCount; ++w) {
      const int byte = 16 * (w / 8) + 2 * (w % 8);
      pick_[p][byte] = static_cast<uint8_t>(2 * p);
      pick_[p][byte + 1] = static_cast<uint8_t>(2 * p + 1);
      sign_[p][w] = coefficients[p][w];  // vpsignw by 0 gives 0
    }
  }
  for (int lane = 0; lane < 2; ++lane) {
    for (int i = 0; i < 8; ++i) {
      split_[16 * lane + i] = static_cast<uint8_t>(2 * i);
      split_[16 * lane + 8 + i] = static_cast<uint8_t>(2 * i + 1);
    }
  }
}

__attribute__((target("avx2"))) void BlockTableBuilder::build(const int8_t* q, int64_t blocks,
                                                              TablePlanes planes,
                                                              uint8_t* tables) const {
  SHERRY_CHECK(blocks % 4 == 0, "{} blocks: not whole steps", blocks);
  __m256i pick[kWeightsPerBlock], sign[kWeightsPerBlock];
  for (int p = 0; p < kWeightsPerBlock; ++p) {
    pick[p] = _mm256_load_si256(reinterpret_cast<const __m256i*>(pick_[p].data()));
    sign[p] = _mm256_load_si256(reinterpret_cast<const __m256i*>(sign_[p].data()));
  }
  const __m256i split = _mm256_load_si256(reinterpret_cast<const __m256i*>(split_.data()));
  const __m128i two = _mm_set1_epi8(2);
  for (int64_t b = 0; b < blocks; b += 4) {
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
      for (int p = 1; p < kWeightsPerBlock; ++p) {
        v = _mm256_add_epi16(v, _mm256_sign_epi16(_mm256_shuffle_epi8(block, pick[p]), sign[p]));
      }
      // [lo 0-7, hi 0-7 | lo 8-15, hi 8-15] -> [lo 0-15 | hi 0-15].
      const __m256i lo_hi = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, split), 0xD8);
      if (planes == TablePlanes::kPerBlock) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(tables + 32 * (b + j)), lo_hi);
      } else {
        uint8_t* lo = tables + 32 * b + 16 * j;  // step b / 4: 128 bytes
        _mm_storeu_si128(reinterpret_cast<__m128i*>(lo), _mm256_castsi256_si128(lo_hi));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(lo + 64),
                         _mm_add_epi8(_mm256_extracti128_si256(lo_hi, 1), two));
      }
    }
  }
}

const BlockTableBuilder& sherry_table_builder() {
  static const BlockTableBuilder builder(sherry_lane_coefficients());
  return builder;
}

}  // namespace sherry::jit::x64
