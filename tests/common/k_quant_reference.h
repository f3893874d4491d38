// Test oracle: a deliberately naive decoder of GGUF's Q4_K, Q5_K and Q6_K blocks written from the
// layout description in docs/gguf.md §2 (byte offsets, bit positions, the float arithmetic of a
// value), sharing no code with the runtime (runtime/k_quants.h): raw bytes at documented offsets,
// its own fp16 decoding, one weight at a time. Used by tests/runtime and tests/gguf.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace sherry::test {

// IEEE binary16 to float, from the definition: (−1)^s · 2^(e−15) · 1.m, subnormals 2^−14 · 0.m.
inline float half_bits_to_float(uint16_t h) {
  const int sign = h >> 15;
  const int exponent = (h >> 10) & 31;
  const int mantissa = h & 1023;
  float value;
  if (exponent == 0) {
    value = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    value = mantissa == 0 ? std::numeric_limits<float>::infinity()
                          : std::numeric_limits<float>::quiet_NaN();
  } else {
    value = std::ldexp(static_cast<float>(1024 + mantissa), exponent - 25);
  }
  return sign ? -value : value;
}

inline uint16_t read_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);  // little-endian
}

// One decoded super-block: codes in weight order and the scales of each weight's sub-block.
struct KBlockFields {
  float d = 0;
  float dmin = 0;      // Q4_K, Q5_K
  int sub_block = 32;  // weights per sub-block (16 for Q6_K)
  int scale[16] = {};  // per sub-block
  int min[8] = {};     // per sub-block (Q4_K, Q5_K)
  int code[256] = {};  // per weight: q ∈ [0, 15], [0, 31] or [0, 63]
  bool has_min = true;
};

// The 12 scale bytes at `s`: sub-block j < 4 takes bits 0-5 of byte j (scale) and of byte j + 4
// (min); j ≥ 4 takes the low nibble of byte j + 4 plus bits 6-7 of byte j − 4 on top (scale), the
// high nibble of byte j + 4 plus bits 6-7 of byte j on top (min).
inline void read_6bit_scales(const uint8_t* s, int scale[8], int min[8]) {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      scale[j] = s[j] % 64;
      min[j] = s[j + 4] % 64;
    } else {
      scale[j] = s[j + 4] % 16 + 16 * (s[j - 4] / 64);
      min[j] = s[j + 4] / 16 + 16 * (s[j] / 64);
    }
  }
}

// Q4_K, 144 bytes: d (fp16) at 0, dmin at 2, scales at 4..15, qs at 16..143. Weight i lies in
// chunk i / 64; its nibble is in byte 16 + 32·(i / 64) + i % 32, the low one for the first 32
// weights of the chunk, the high one for the last 32.
inline KBlockFields read_q4_k(const uint8_t* p) {
  KBlockFields f;
  f.d = half_bits_to_float(read_u16(p));
  f.dmin = half_bits_to_float(read_u16(p + 2));
  read_6bit_scales(p + 4, f.scale, f.min);
  for (int i = 0; i < 256; ++i) {
    const uint8_t byte = p[16 + 32 * (i / 64) + i % 32];
    f.code[i] = (i % 64 < 32) ? byte % 16 : byte / 16;
  }
  return f;
}

// Q5_K, 176 bytes: d at 0, dmin at 2, scales at 4..15, qh at 16..47, qs at 48..175. The low four
// bits as Q4_K's nibbles (qs at 48), the fifth is bit (i / 32) of qh byte i % 32.
inline KBlockFields read_q5_k(const uint8_t* p) {
  KBlockFields f;
  f.d = half_bits_to_float(read_u16(p));
  f.dmin = half_bits_to_float(read_u16(p + 2));
  read_6bit_scales(p + 4, f.scale, f.min);
  for (int i = 0; i < 256; ++i) {
    const uint8_t byte = p[48 + 32 * (i / 64) + i % 32];
    const int low = (i % 64 < 32) ? byte % 16 : byte / 16;
    const int fifth = (p[16 + i % 32] >> (i / 32)) & 1;
    f.code[i] = low + 16 * fifth;
  }
  return f;
}

// Q6_K, 210 bytes: ql at 0..127, qh at 128..191, scales (int8) at 192..207, d (fp16) at 208.
// Weight i: half h = i / 128, position r = i % 128, l = r % 32. Low four bits: for r < 32 the low
// nibble of ql[64h + l], r < 64 the low nibble of ql[64h + 32 + l], r < 96 the high nibble of
// ql[64h + l], else the high nibble of ql[64h + 32 + l]; top two bits: bits 2·(r / 32) and
// 2·(r / 32) + 1 of qh[32h + l]. Sub-block i / 16.
inline KBlockFields read_q6_k(const uint8_t* p) {
  KBlockFields f;
  f.has_min = false;
  f.sub_block = 16;
  f.d = half_bits_to_float(read_u16(p + 208));
  for (int j = 0; j < 16; ++j) f.scale[j] = static_cast<int8_t>(p[192 + j]);
  for (int i = 0; i < 256; ++i) {
    const int h = i / 128, r = i % 128, l = r % 32;
    int low;
    if (r < 32) {
      low = p[64 * h + l] % 16;
    } else if (r < 64) {
      low = p[64 * h + 32 + l] % 16;
    } else if (r < 96) {
      low = p[64 * h + l] / 16;
    } else {
      low = p[64 * h + 32 + l] / 16;
    }
    const int top = (p[128 + 32 * h + l] >> (2 * (r / 32))) & 3;
    f.code[i] = low + 16 * top;
  }
  return f;
}

// The value of weight i, with the documented float operations: Q4_K/Q5_K
// (d·scale)·q − (dmin·min), Q6_K (d·scale)·(q − 32), each product rounded to float.
inline float k_value(const KBlockFields& f, int i) {
  const int j = i / f.sub_block;
  if (f.has_min) {
    const float dl = f.d * static_cast<float>(f.scale[j]);
    const float ml = f.dmin * static_cast<float>(f.min[j]);
    return dl * static_cast<float>(f.code[i]) - ml;
  }
  const float dl = f.d * static_cast<float>(f.scale[j]);
  return dl * static_cast<float>(f.code[i] - 32);
}

enum class KType { kQ4_K, kQ5_K, kQ6_K };

inline int k_block_bytes(KType type) {
  return type == KType::kQ4_K ? 144 : type == KType::kQ5_K ? 176 : 210;
}

inline KBlockFields read_k_block(KType type, const uint8_t* p) {
  switch (type) {
    case KType::kQ4_K:
      return read_q4_k(p);
    case KType::kQ5_K:
      return read_q5_k(p);
    case KType::kQ6_K:
      return read_q6_k(p);
  }
  return {};
}

// Every weight of `blocks` consecutive super-blocks.
inline std::vector<float> decode_k_blocks(KType type, const uint8_t* p, int64_t blocks) {
  std::vector<float> out;
  for (int64_t b = 0; b < blocks; ++b) {
    const KBlockFields f = read_k_block(type, p + b * k_block_bytes(type));
    for (int i = 0; i < 256; ++i) out.push_back(k_value(f, i));
  }
  return out;
}

// Same float, or both NaN.
inline bool same_float(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

}  // namespace sherry::test
