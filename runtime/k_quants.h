// GGUF's K-quant tensors (llama.cpp's Q4_K, Q5_K and Q6_K): rows cut into super-blocks of 256
// weights, each with an fp16 scale (and, for Q4_K/Q5_K, an fp16 scale of the minimums) and
// small integer scales per sub-block. The block structs, a portable dequantizer and a quantizer
// per type; the layouts, bit by bit and with the exact float arithmetic of the dequantization,
// are in docs/gguf.md §2. The GEMV/GEMM over these blocks is runtime/int8_gemm.h.
#pragma once

#include <cstdint>

namespace sherry::runtime {

inline constexpr int64_t kKQuantBlockWeights = 256;

// Q4_K: 8 sub-blocks of 32 weights, value = (d·sc[j])·q − (dmin·m[j]) with q ∈ [0, 15] and
// sc, m ∈ [0, 63] packed 6-bit into `scales` (unpack_k_scales). `qs` holds 4 chunks of 64
// weights, 32 bytes each: weight 64c + l in the low nibble of qs[32c + l], weight 64c + 32 + l in
// its high nibble.
struct Q4_KBlock {
  uint16_t d;     // fp16
  uint16_t dmin;  // fp16
  uint8_t scales[12];
  uint8_t qs[128];
};
static_assert(sizeof(Q4_KBlock) == 144, "Q4_K block must be 144 bytes");

// Q5_K: Q4_K with a fifth bit per weight: q = nibble + 16·bit, q ∈ [0, 31], where weight
// 32j + l (sub-block j) takes bit j of qh[l].
struct Q5_KBlock {
  uint16_t d;     // fp16
  uint16_t dmin;  // fp16
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
static_assert(sizeof(Q5_KBlock) == 176, "Q5_K block must be 176 bytes");

// Q6_K: 16 sub-blocks of 16 weights, value = (d·scales[j])·(q − 32) with q ∈ [0, 63] and
// scales int8. Per half h (128 weights): the low 4 bits of weights 128h + l and 128h + 32 + l
// (l < 32) in the low nibbles of ql[64h + l] and ql[64h + 32 + l], of weights 128h + 64 + l and
// 128h + 96 + l in their high nibbles; the top 2 bits of those four weights in bits 0-1, 2-3, 4-5
// and 6-7 of qh[32h + l].
struct Q6_KBlock {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;  // fp16
};
static_assert(sizeof(Q6_KBlock) == 210, "Q6_K block must be 210 bytes");

// The eight 6-bit scales and minimums of a Q4_K/Q5_K block: for j < 4, sc = scales[j] & 63 and
// m = scales[j + 4] & 63; for j ≥ 4, sc = (scales[j + 4] & 15) | (scales[j − 4] >> 6) << 4 and
// m = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4.
void unpack_k_scales(const uint8_t packed[12], uint8_t sc[8], uint8_t m[8]);

// The integer code of weight i (0..255) of a block, as the layouts above place it.
inline int q4_k_code(const Q4_KBlock& block, int i) {
  return (block.qs[32 * (i / 64) + i % 32] >> (4 * (i / 32 % 2))) & 15;
}
inline int q5_k_code(const Q5_KBlock& block, int i) {
  return ((block.qs[32 * (i / 64) + i % 32] >> (4 * (i / 32 % 2))) & 15) |
         ((block.qh[i % 32] >> (i / 32)) & 1) << 4;
}
inline int q6_k_code(const Q6_KBlock& block, int i) {
  const int half = i / 128;
  const int quarter = i % 128 / 32;  // which of the four weights sharing a qh byte
  const int l = i % 32;
  return ((block.ql[64 * half + 32 * (quarter % 2) + l] >> (4 * (quarter / 2))) & 15) |
         ((block.qh[32 * half + l] >> (2 * quarter)) & 3) << 4;
}

// Rows of `cols` weights (a multiple of 256) to floats, bit for bit the arithmetic of
// docs/gguf.md (and of llama.cpp's dequantize_row_q*_K).
void dequantize_row_q4_k(const Q4_KBlock* blocks, int64_t cols, float* out);
void dequantize_row_q5_k(const Q5_KBlock* blocks, int64_t cols, float* out);
void dequantize_row_q6_k(const Q6_KBlock* blocks, int64_t cols, float* out);

// Quantizes `cols` finite floats (a multiple of 256). Per sub-block a weighted least-squares
// fit of scale and minimum (Q4_K/Q5_K) or of the scale (Q6_K) over a small search of grids, as
// llama.cpp's reference quantizer does; then, per sub-block, the integer scale (and minimum) is
// chosen among the nearest one and its two neighbours by the squared error of the values it
// gives, so each sub-block's error is at most that of plain rounding (docs/gguf.md §2). A scale
// beyond fp16's range is saturated to 65504 (the values are then clipped), never infinite.
void quantize_row_q4_k(const float* x, int64_t cols, Q4_KBlock* out);
void quantize_row_q5_k(const float* x, int64_t cols, Q5_KBlock* out);
void quantize_row_q6_k(const float* x, int64_t cols, Q6_KBlock* out);

}  // namespace sherry::runtime
