#include "core/half.h"

#include <bit>
#include <cmath>

namespace sherry {
namespace {

constexpr uint32_t kF32AbsMask = 0x7FFFFFFFu;
constexpr uint32_t kF32Inf = 0x7F800000u;
// Exponent bias difference between binary32 (127) and binary16 (15).
constexpr uint32_t kF16Rebias = (127 - 15) << 23;
// Smallest float that rounds to fp16 infinity: halfway between 65504 and 65536 (ties to even go
// up).
constexpr uint32_t kF16OverflowThreshold = 0x477FF000u;
// 2^-14, the smallest normal fp16.
constexpr uint32_t kF16MinNormal = 0x38800000u;

}  // namespace

uint16_t float_to_fp16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & kF32AbsMask;
  if (abs > kF32Inf) {
    // NaN: keep the top payload bits; if they are all zero, set the quiet bit so it stays a NaN.
    const auto payload = static_cast<uint16_t>((abs >> 13) & 0x3FFu);
    return static_cast<uint16_t>(sign | 0x7C00u | (payload != 0 ? payload : 0x200u));
  }
  if (abs >= kF16OverflowThreshold) return static_cast<uint16_t>(sign | 0x7C00u);  // Inf too
  if (abs >= kF16MinNormal) {
    // Rebias the exponent, then round the 13 dropped mantissa bits to nearest even; a carry
    // out of the mantissa correctly bumps the exponent.
    const uint32_t rebased = abs - kF16Rebias;
    const uint32_t rounded = rebased + 0x0FFFu + ((rebased >> 13) & 1u);
    return static_cast<uint16_t>(sign | (rounded >> 13));
  }
  // Subnormal (or zero) result: value = m · 2^(e - 150); in units of 2^-24 that is m >> (126 - e).
  const uint32_t exponent = abs >> 23;
  const int shift = 126 - static_cast<int>(exponent);
  if (shift >= 25) return sign;  // below half the smallest subnormal: rounds to ±0
  const uint32_t mantissa = (abs & 0x7FFFFFu) | 0x800000u;
  uint32_t result = mantissa >> shift;
  const uint32_t remainder = mantissa & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  if (remainder > half || (remainder == half && (result & 1u))) ++result;  // may become 0x400
  return static_cast<uint16_t>(sign | result);
}

float fp16_to_float(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1Fu;
  const uint32_t mantissa = bits & 0x3FFu;
  if (exponent == 0) {
    // ±0 or subnormal: mantissa · 2^-24, exact in float.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1F) return std::bit_cast<float>(sign | kF32Inf | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

uint16_t float_to_bf16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & kF32AbsMask) > kF32Inf) {
    const auto high = static_cast<uint16_t>(bits >> 16);
    return (high & 0x7Fu) != 0 ? high : static_cast<uint16_t>(high | 0x40u);
  }
  // Round to nearest even on the 16 dropped bits; overflow carries into Inf as it should.
  const uint32_t rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(rounded >> 16);
}

float bf16_to_float(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

}  // namespace sherry
